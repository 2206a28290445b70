"""The store (SQLite and a real PostgreSQL) and the SQL figures, checked against the pandas log reader."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ipynb_tools.execlog.importer import import_logs
from ipynb_tools.execlog.query import Filters, progress, stats
from ipynb_tools.execlog.records import CLIENT, SERVER, SESSION, ExecRecord, parse_date
from ipynb_tools.execlog.store import SCHEMA_VERSION, Launch, Store, StoreError, meta, server_records
from ipynb_tools.grading.logs import load_logs
from ipynb_tools.grading.samplelog import sample_log

DATA = Path(__file__).resolve().parents[1] / "data" / "grading" / "logs"
USERS = ["alice", "bob", "carol"]


def write_sample(path: Path, users: list[str] = USERS, **kwargs) -> Path:
    records = sample_log(users, "kadai-1.ipynb", range(1, 8), seed=3, **kwargs)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def expected_from_pandas(path: Path) -> dict:
    """The same figures computed by the pandas reader of ``report --log`` (an independent implementation)."""
    import pandas as pd

    ex = load_logs([path]).executions
    per_cell = ex.assign(err=~ex["ok"]).groupby(["filename", "codenum"], dropna=False)[["ok", "err"]].sum()
    per_user = ex.assign(err=~ex["ok"]).groupby("username")[["ok", "err"]].sum()
    return {
        "executions": len(ex),
        "ok": int(ex["ok"].sum()),
        "users": ex["username"].nunique(),
        "cells": {
            (f if isinstance(f, str) else None, None if pd.isna(n) else int(n)): (int(o), int(e))
            for (f, n), (o, e) in per_cell.iterrows()
        },
        "people": {u: (int(o), int(e)) for u, (o, e) in per_user.iterrows()},
    }


def test_schema_is_versioned_and_reopens(store: Store) -> None:
    assert store.version() == SCHEMA_VERSION
    url = str(store.engine.url.render_as_string(hide_password=False))
    with Store.open(url) as again:
        assert again.version() == SCHEMA_VERSION
    with store.engine.begin() as conn:
        conn.execute(meta.update().values(value=str(SCHEMA_VERSION + 1)))
    with pytest.raises(StoreError, match="newer than this ipynb-tools"):
        Store.open(url)


def test_sql_figures_equal_the_pandas_reader(store: Store, tmp_path: Path) -> None:
    log = write_sample(tmp_path / "sample.jsonl", runs_per_user=40)
    result = import_logs(store, [log])
    assert result.stored == result.given > 100
    figures = stats(store)
    want = expected_from_pandas(log)
    assert (figures.executions, figures.ok, figures.users) == (want["executions"], want["ok"], want["users"])
    assert figures.error == figures.executions - figures.ok
    assert {(r["notebook"], r["codenum"]): (r["ok"], r["error"]) for r in figures.per_codenum} == want["cells"]
    assert {r["user"]: (r["ok"], r["error"]) for r in figures.per_user} == want["people"]
    again = import_logs(store, [log])  # idempotent
    assert again.stored == 0 and again.duplicates == again.given
    assert stats(store).executions == figures.executions


def test_fixture_logs_unpaired_and_tagless_clients(store: Store) -> None:
    """proxy.jsonl + proxy-posts.log: /nc answers count by status, a tagless client takes the cell's numbering."""
    import_logs(store, [DATA / "proxy.jsonl", DATA / "proxy-posts.log"])
    want = load_logs([DATA / "proxy.jsonl", DATA / "proxy-posts.log"]).executions
    figures = stats(store)
    assert figures.executions == len(want)
    assert figures.ok == int(want["ok"].sum())
    got = sorted((r["notebook"] or "", r["codenum"] or 0, r["ok"], r["error"]) for r in figures.per_codenum)
    grouped = want.assign(err=~want["ok"]).fillna({"filename": "", "codenum": 0}).groupby(["filename", "codenum"])
    assert got == sorted((f, int(n), int(g["ok"].sum()), int(g["err"].sum())) for (f, n), g in grouped)


def test_a_bad_line_stores_nothing(store: Store) -> None:
    from ipynb_tools.errors import FileProblem

    with pytest.raises(FileProblem, match=r"broken\.jsonl:\d+: "):
        import_logs(store, [DATA / "proxy.jsonl", DATA / "broken.jsonl"])
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(server_records)).scalar() == 0


def _run(session: str, message: str, user: str, when: str, codenum: int | None, status: str = "ok", cell: str = "c"):
    date = parse_date(when)
    return [
        ExecRecord(
            kind=CLIENT,
            session=session,
            message=message,
            date_us=date,
            cell_id=f"{cell}{codenum}",
            filename="k.ipynb" if codenum else None,
            codenum=codenum,
        ),
        ExecRecord(kind=SERVER, session=session, message=message, date_us=date + 1000, status=status, username=user),
    ]


def test_filters_course_from_launches_and_time_zone(store: Store) -> None:
    records = [
        ExecRecord(kind=SESSION, session="p1", inst_id="3", lti_id="7"),  # the old proxy: LTI id, no course
        *_run("p1", "m1", "alice", "2024-04-17T00:10:00Z", 1),
        *_run("p1", "m2", "alice", "2024-04-17T00:20:00Z", 2, "error"),
        *_run("p1", "m3", "alice", "2024-04-17T02:00:00Z", 3),  # after a 100-minute gap
        *_run("p2", "m1", "bob", "2024-04-18T00:00:00Z", 1),
    ]
    store.ingest(records)
    assert stats(store, Filters(lti="7")).executions == 3
    assert stats(store, Filters(course="98")).executions == 0  # no launch of LTI 7 seen yet
    store.record_launch(Launch("tanaka", "98", "7", "3", parse_date("2024-04-16T00:00:00Z")))
    assert stats(store, Filters(course="98")).to_json()["per_user"] == [{"user": "alice", "ok": 2, "error": 1}]
    tokyo = dt.timezone(dt.timedelta(hours=9))
    day = Filters(
        since=dt.datetime(2024, 4, 17, 9, 0, tzinfo=tokyo), until=dt.datetime(2024, 4, 17, 9, 30, tzinfo=tokyo)
    )
    assert stats(store, day).executions == 2
    assert stats(store, Filters(user="bob", notebook="k.ipynb")).executions == 1
    lines = progress(store, Filters(user="alice"), zone=tokyo)
    assert len(lines) == 1 and [[(t.strftime("%H:%M"), n) for t, n in seg] for seg in lines[0].segments] == [
        [("09:10", 1), ("09:20", 2)],
        [("11:00", 3)],
    ]
    assert len(progress(store, Filters(user="alice"), zone=tokyo, gap_seconds=3 * 3600)[0].segments) == 1


def test_hub_path_forces_the_user_and_binds_the_launch(store: Store) -> None:
    store.record_launch(Launch("alice", "98", "7", "3", parse_date("2024-04-17T00:00:00Z")))
    forged = [
        ExecRecord(kind=SESSION, session="k1", lti_id="666", course="other"),
        *_run("k1", "m1", "mallory", "2024-04-17T00:10:00Z", 1),  # claims to be mallory
    ]
    result = store.ingest(forged, as_user="alice")
    assert result.stored == 2
    figures = stats(store, Filters(course="98", lti="7"))
    assert figures.to_json()["per_user"] == [{"user": "alice", "ok": 1, "error": 0}]
    assert stats(store, Filters(lti="666")).executions == 0
    assert store.ingest(forged, as_user="alice").stored == 0  # a resend is stored once


def test_retention_deletes_old_records(store: Store) -> None:
    store.ingest(_run("s", "old", "a", "2023-01-01T00:00:00Z", 1) + _run("s", "new", "a", "2024-01-01T00:00:00Z", 1))
    assert store.delete_before(parse_date("2023-06-01T00:00:00Z")) == 2
    assert stats(store).executions == 1


def test_bad_url_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"^sqlite:///.*nothere/x\.sqlite: cannot open"):
        Store.open(tmp_path / "nothere" / "x.sqlite")


def test_a_spool_is_stored_as_its_user_like_the_collector_does(store: Store, tmp_path: Path) -> None:
    from ipynb_tools.execlog.buffer import Spool
    from ipynb_tools.execlog.importer import import_spool

    spool = Spool(tmp_path / "spool")
    spool.append(
        [
            {"kind": "client", "session": "k1", "message": "m1", "notebook": "a.ipynb", "codenum": 2},
            {"kind": "server", "session": "k1", "message": "m1", "status": "error", "ename": "NameError",
             "username": "mallory"},
            {"kind": "server", "session": "k1"},  # malformed (no message): skipped, as the collector refuses it
        ]
    )  # fmt: skip
    spool.seal()
    spool.append([{"kind": "client", "session": "k1", "message": "m2", "notebook": "a.ipynb", "codenum": 3}])
    store.record_launch(Launch("alice", "98", "5", None, 1))
    result = import_spool(store, spool, "alice")
    assert (result.given, result.stored) == (3, 3)
    assert spool.pending() == [] and not spool.current.exists()
    figures = stats(store, Filters(course="98", lti="5"))
    assert (figures.executions, figures.error, figures.users) == (1, 1, 1)  # m2 has no reply yet
    assert figures.per_user == [{"user": "alice", "ok": 0, "error": 1}]  # never the name the record claims
    assert figures.per_codenum == [{"notebook": "a.ipynb", "codenum": 2, "ok": 0, "error": 1}]
    assert import_spool(store, spool, "alice").given == 0  # the spool was emptied
