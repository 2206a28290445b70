"""The record type and its two wire forms (the extension's JSON, the old proxy's form posts)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from ipynb_tools.execlog.records import (
    CLIENT,
    SERVER,
    SESSION,
    ExecRecord,
    RecordError,
    format_date,
    make_record,
    parse_date,
    records_from_form,
    records_from_json,
    records_from_lines,
)


def proxy_body(**fields: str) -> str:
    """One old-proxy post: all ten fields, in the proxy's order, empty when not given (SPEC 9)."""
    order = ("host", "inst_id", "lti_id", "session", "message", "status", "username", "cell_id", "tags", "date")
    return urlencode([(f"nb_logs[0][{name}]", fields.get(name, "")) for name in order])


def test_dates_are_utc_microseconds_both_ways() -> None:
    us = parse_date("2024-04-17T09:00:00.123456Z")
    assert us == 1713344400123456
    assert format_date(us) == "2024-04-17T09:00:00.123456Z"
    assert parse_date("2024-04-17T18:00:00.123456+09:00") == us
    assert parse_date("2024-04-17T09:00:00.123456") == us  # naive: UTC
    assert parse_date("") is None
    with pytest.raises(RecordError, match="not an ISO 8601 date"):
        parse_date("yesterday")


def test_the_three_proxy_kinds_from_form_posts() -> None:
    session = records_from_form(proxy_body(host="ltictr", inst_id="3", lti_id="7", session="S"))
    assert session == [ExecRecord(kind=SESSION, session="S", inst_id="3", lti_id="7")]
    client = records_from_form(
        proxy_body(
            host="client",
            session="S",
            message="M",
            cell_id="c1",
            tags='["filename:kadai-1.ipynb", "codenum:4"]',
            date="2024-04-17T09:00:00.000001Z",
        )
    )[0]
    assert (client.kind, client.filename, client.codenum, client.cell_id) == (CLIENT, "kadai-1.ipynb", 4, "c1")
    assert client.date_us == parse_date("2024-04-17T09:00:00.000001Z")
    server = records_from_form(
        proxy_body(
            host="server", session="S", message="M", status="error", username="alice", date="2024-04-17T09:00:01Z"
        )
    )[0]
    assert (server.kind, server.status, server.username) == (SERVER, "error", "alice")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("nb_logs[0][host]=server&nb_logs[0][evil]=1", "unknown field 'evil'"),
        ("nb_logs[0]=x", "is not nb_logs"),
        ("wstoken=x", "no nb_logs"),
        (proxy_body(host="server", session="S", message="M", status="maybe"), "not ok, error or aborted"),
        (proxy_body(host="client", session="S"), "without message id"),
        (proxy_body(host="server", session="S", message="M", status="ok", date="soon"), "not an ISO 8601 date"),
    ],
)
def test_bad_form_posts_are_refused(body: str, problem: str) -> None:
    with pytest.raises(RecordError, match=problem):
        records_from_form(body)


def test_json_form_round_trips_and_refuses_unknown_fields() -> None:
    record = ExecRecord(
        kind=CLIENT,
        session="s",
        message="m",
        date_us=parse_date("2024-01-01T00:00:00Z"),
        codenum=3,
        notebook="a/b.ipynb",
    )
    body = json.dumps({"records": [record.to_json()]})
    assert records_from_json(body) == [record]
    with pytest.raises(RecordError, match="record 0: unknown field"):
        records_from_json(json.dumps({"records": [{**record.to_json(), "admin": True}]}))
    with pytest.raises(RecordError, match="not JSON"):
        records_from_json(b"{")
    with pytest.raises(RecordError, match="must be text"):
        make_record({"kind": "client", "session": 5, "message": "m"})
    with pytest.raises(RecordError, match="over the limit"):
        make_record({"kind": "client", "session": "s" * 201, "message": "m"})
    with pytest.raises(RecordError, match="over the limit of 2"):
        records_from_json(json.dumps([record.to_json()] * 3), max_records=2)


def test_log_lines_name_the_bad_line() -> None:
    lines = [
        '{"host": "server", "session": "s", "message": "m", "status": "ok", "date": "2024-01-01T00:00:00Z"}',
        "junk",
    ]
    with pytest.raises(RecordError, match=r"^f\.log:2: neither") as info:
        records_from_lines(lines, "f.log")
    assert info.value.line == 2
    assert len(records_from_lines(lines[:1])) == 1
