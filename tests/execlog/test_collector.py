"""The collector against a real JupyterHub: hub tokens decide the user; the old proxy's posts byte for byte.

The hub runs the collector as a managed service (docs/execlog.md's configuration); tokens are
issued by the hub for real users. Every test runs twice: the service storing into SQLite, and
into the private PostgreSQL server (tests/lms/servers.py); records are read back from that store.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from urllib.parse import quote, urlencode, urlsplit

import pytest
import requests
import sqlalchemy as sa

from ipynb_tools.execlog.query import Filters, stats
from ipynb_tools.execlog.records import CLIENT, SERVER, ExecRecord, parse_date
from ipynb_tools.execlog.store import Store

from .hubservice import WSTOKEN, LightHub

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "postgresql"])
def hub(request: pytest.FixtureRequest) -> LightHub:
    """The hub with its collector service storing into SQLite, and again into PostgreSQL (issue 13)."""
    name = "light_hub" if request.param == "sqlite" else "light_hub_postgres"
    running: LightHub = request.getfixturevalue(name)
    return running


def rows(hub: LightHub, sql: str, *args: object) -> list[tuple]:
    """``sql`` with ``?`` placeholders, on the collector's store (whichever engine)."""
    parts = sql.split("?")
    named = "".join(part + (f":p{i}" if i < len(parts) - 1 else "") for i, part in enumerate(parts))
    with Store.open(hub.db, create=False) as store, store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(named), {f"p{i}": arg for i, arg in enumerate(args)})]


def batch(session: str, user_claim: str, *, codenum: int = 1, status: str = "ok") -> dict:
    date = parse_date("2024-04-17T00:10:00.000001Z")
    records = [
        ExecRecord(
            kind=CLIENT,
            session=session,
            message="m1",
            date_us=date,
            cell_id="c1",
            filename="k.ipynb",
            codenum=codenum,
            notebook="k.ipynb",
        ),
        ExecRecord(kind=SERVER, session=session, message="m1", date_us=date + 5, status=status, username=user_claim),
    ]
    return {"records": [r.to_json() for r in records]}


def post_records(hub: LightHub, body: object, token: str | None, *, via_proxy: bool = False) -> requests.Response:
    base = hub.url if via_proxy else hub.collector_url
    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.post(f"{base}/services/execlog/api/records", json=body, headers=headers, timeout=30)


def test_the_hub_decides_the_user_not_the_record(hub: LightHub) -> None:
    alice, bob = hub.user_token("alice"), hub.user_token("bob")
    session = uuid.uuid4().hex
    reply = post_records(hub, batch(session, user_claim="bob"), alice, via_proxy=True)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"given": 2, "stored": 2, "user": "alice"}
    assert rows(hub, "SELECT username FROM server_records WHERE session = ?", session) == [("alice",)]
    assert rows(hub, "SELECT username FROM client_records WHERE session = ?", session) == [("alice",)]
    again = post_records(hub, batch(session, user_claim="bob"), alice)
    assert again.json()["stored"] == 0  # a resend is stored once
    other = uuid.uuid4().hex
    assert post_records(hub, batch(other, user_claim="alice"), bob).json()["user"] == "bob"
    assert rows(hub, "SELECT username FROM server_records WHERE session = ?", other) == [("bob",)]


@pytest.mark.parametrize(
    ("token", "status"),
    [(None, 401), ("not-a-token", 403), ("admin", 403)],
)
def test_records_without_a_users_token_store_nothing(hub: LightHub, token: str | None, status: int) -> None:
    session = uuid.uuid4().hex
    given = hub.token if token == "admin" else token  # a service's token is not a user's
    assert post_records(hub, batch(session, "alice"), given).status_code == status
    assert rows(hub, "SELECT count(*) FROM server_records WHERE session = ?", session) == [(0,)]


def test_bad_batches_are_refused_whole(hub: LightHub) -> None:
    alice = hub.user_token("alice")
    session = uuid.uuid4().hex
    body = batch(session, "alice")
    body["records"][1]["is_admin"] = True
    reply = post_records(hub, body, alice)
    assert reply.status_code == 400 and "unknown field" in reply.json()["message"]
    assert rows(hub, "SELECT count(*) FROM client_records WHERE session = ?", session) == [(0,)]


def proxy_post(path_prefix: str, token: str, fields: dict[str, str], *, host: str, port: int) -> bytes:
    """The request the old proxy writes (SPEC 9), on its own connection, closed right after sending."""
    order = ("host", "inst_id", "lti_id", "session", "message", "status", "username", "cell_id", "tags", "date")
    body = urlencode([(f"nb_logs[0][{name}]", fields.get(name, "")) for name in order]).encode()
    request = (
        f"POST /{path_prefix}/webservice/rest/server.php"
        f"?wsfunction=mod_lticontainer_write_nblogs&wstoken={quote(token)} HTTP/1.1\r\n"
        f"Host: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request)
    return request


def test_old_proxy_posts_byte_for_byte_then_stats(hub: LightHub) -> None:
    port = urlsplit(hub.collector_url).port
    assert port is not None
    lti = uuid.uuid4().hex[:6]
    for user, session in (("student1", uuid.uuid4().hex), ("student2", uuid.uuid4().hex)):
        proxy_post(
            "moodle",
            WSTOKEN,
            {"host": "ltictr", "inst_id": "3", "lti_id": lti, "session": session},
            host="lms",
            port=port,
        )
        for n, (status, code) in enumerate((("ok", 1), ("error", 2), ("ok", 2)), 1):
            message = f"{session[:8]}-{n}"
            tags = json.dumps(["filename:kadai-1.ipynb", f"codenum:{code}"])
            proxy_post(
                "moodle",
                WSTOKEN,
                {
                    "host": "client",
                    "session": session,
                    "message": message,
                    "cell_id": f"cell-{code}",
                    "tags": tags,
                    "date": f"2024-04-17T00:0{n}:00.123456Z",
                },
                host="lms",
                port=port,
            )
            proxy_post(
                "moodle",
                WSTOKEN,
                {
                    "host": "server",
                    "session": session,
                    "message": message,
                    "status": status,
                    "username": user,
                    "date": f"2024-04-17T00:0{n}:01.654321Z",
                },
                host="lms",
                port=port,
            )
    deadline = time.monotonic() + 20
    with Store.open(hub.db, create=False) as store:
        while stats(store, Filters(lti=lti)).executions < 6 and time.monotonic() < deadline:
            time.sleep(0.2)
        figures = stats(store, Filters(lti=lti)).to_json()
    assert figures["executions"] == 6 and figures["ok"] == 4 and figures["error"] == 2 and figures["users"] == 2
    assert figures["per_codenum"] == [
        {"notebook": "kadai-1.ipynb", "codenum": 1, "ok": 2, "error": 0},
        {"notebook": "kadai-1.ipynb", "codenum": 2, "ok": 2, "error": 2},
    ]
    assert figures["per_user"] == [{"user": "student1", "ok": 2, "error": 1}, {"user": "student2", "ok": 2, "error": 1}]


def test_old_proxy_answers_like_moodle_and_refuses_bad_posts(hub: LightHub) -> None:
    url = f"{hub.collector_url}/any/prefix/webservice/rest/server.php"
    session = uuid.uuid4().hex
    fields = {
        "nb_logs[0][host]": "server",
        "nb_logs[0][session]": session,
        "nb_logs[0][message]": "m",
        "nb_logs[0][status]": "ok",
        "nb_logs[0][username]": "x",
        "nb_logs[0][date]": "2024-04-17T00:00:00Z",
    }
    ok = requests.post(url, params={"wsfunction": "mod_lticontainer_write_nblogs", "wstoken": WSTOKEN}, data=fields)
    assert ok.status_code == 200 and "<RESPONSE>" in ok.text
    as_json = requests.post(
        url,
        data={
            **fields,
            "wsfunction": "mod_lticontainer_write_nblogs",
            "wstoken": WSTOKEN,
            "moodlewsrestformat": "json",
            "nb_logs[0][message]": "m2",
        },
    )
    assert as_json.status_code == 200 and as_json.json() is None
    assert rows(hub, "SELECT count(*) FROM server_records WHERE session = ?", session) == [(2,)]
    bad = uuid.uuid4().hex
    cases = [
        ({"wsfunction": "mod_lticontainer_write_nblogs"}, {**fields, "nb_logs[0][session]": bad}, 403, "invalidtoken"),
        (
            {"wsfunction": "mod_lticontainer_write_nblogs", "wstoken": "wrong"},
            {**fields, "nb_logs[0][session]": bad},
            403,
            "invalidtoken",
        ),
        (
            {"wsfunction": "core_user_delete_users", "wstoken": WSTOKEN},
            {**fields, "nb_logs[0][session]": bad},
            400,
            "invalidfunction",
        ),
        (
            {"wsfunction": "mod_lticontainer_write_nblogs", "wstoken": WSTOKEN},
            {**fields, "nb_logs[0][session]": bad, "nb_logs[0][shell]": "rm"},
            400,
            "unknown field",
        ),
    ]
    for params, data, status, text in cases:
        reply = requests.post(url, params=params, data=data)
        assert (reply.status_code, text in reply.text) == (status, True), reply.text
        assert "<EXCEPTION" in reply.text
    assert rows(hub, "SELECT count(*) FROM server_records WHERE session = ?", bad) == [(0,)]


def test_a_10_mb_body_is_refused(hub: LightHub) -> None:
    alice = hub.user_token("alice")
    session = uuid.uuid4().hex
    body = batch(session, "alice")
    body["records"][0]["source"] = "x" * (10 * 1024 * 1024)
    try:
        reply = post_records(hub, body, alice)
    except requests.ConnectionError:
        status = "closed"  # the server may close before the client has sent it all
    else:
        status = reply.status_code
    assert status in (413, "closed")  # 413, or the connection closed on the sender mid-body
    assert rows(hub, "SELECT count(*) FROM client_records WHERE session = ?", session) == [(0,)]
    url = f"{hub.collector_url}/moodle/webservice/rest/server.php"
    reply = requests.post(
        url,
        params={"wsfunction": "mod_lticontainer_write_nblogs", "wstoken": WSTOKEN},
        data={
            "nb_logs[0][host]": "client",
            "nb_logs[0][session]": session,
            "nb_logs[0][message]": "m",
            "nb_logs[0][tags]": "x" * (2 * 1024 * 1024),
        },
    )
    assert reply.status_code == 413
    assert rows(hub, "SELECT count(*) FROM client_records WHERE session = ?", session) == [(0,)]
