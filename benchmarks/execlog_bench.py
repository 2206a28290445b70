"""Execution-log store benchmarks (issue 13), each a ratio against a floor measured in the same run.

1. ingest: N records (half client, half server; default 1,000,000) through ``Store.ingest`` into a
   fresh SQLite store, against a bare ``sqlite3`` ``executemany`` of the same rows into the same
   schema (target <= 1.5x);
2. the four chart queries (totals, per codenum, per user, progress series) through
   :mod:`ipynb_tools.execlog.query` over those records, against the same questions in hand-written
   SQL run with ``sqlite3`` (target <= 2x);
3. 100 concurrent clients posting the old proxy's one-record requests to a running collector
   (``logs serve``): every record stored (zero lost), records/s reported, against the same posts
   answered by a tornado handler that stores nothing (the floor of HTTP itself).

``python benchmarks/execlog_bench.py [--records N] [--clients C] [--posts P]``; exit 1 when a target is missed.

``--queries-only --db FILE`` runs only 2. over the store ``FILE``, built first when it does not
exist (N records written with the bare ``executemany``, the fastest way, into the store's schema)
and kept: at 1,000,000 records the whole run's ingest part takes minutes, the queries alone do not.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ipynb_tools.execlog.query import Filters, progress, stats
from ipynb_tools.execlog.records import CLIENT, SERVER, ExecRecord
from ipynb_tools.execlog.store import Store

INGEST_TARGET = 1.5
QUERY_TARGET = 2.0
START_US = 1_713_340_800_000_000  # 2024-04-17T08:00Z


def make_records(n: int, users: int = 200, cells: int = 30) -> list[ExecRecord]:
    rng = random.Random(13)
    out: list[ExecRecord] = []
    runs = n // 2
    for i in range(runs):
        user = f"s{i % users:04d}"
        session = f"{user}-session-{i % users // 50}"
        message = f"msg-{i:09d}"
        when = START_US + i * 7_000_000 // users * users + rng.randint(0, 5_000_000)
        codenum = (i // users) % cells + 1
        out.append(
            ExecRecord(
                kind=CLIENT,
                session=session,
                message=message,
                date_us=when,
                cell_id=f"cell-{codenum}",
                filename="kadai-1.ipynb",
                codenum=codenum,
                notebook="kadai-1.ipynb",
            )
        )
        out.append(
            ExecRecord(
                kind=SERVER,
                session=session,
                message=message,
                date_us=when + 300_000,
                status="error" if rng.random() < 0.2 else "ok",
                username=user,
                execution_count=i,
            )
        )
    return out


def bare_rows(records: list[ExecRecord]) -> tuple[list[tuple], list[tuple]]:
    clients = [
        (r.session, r.message, r.date_us, r.cell_id, r.tags, r.notebook, r.filename, r.codenum, r.source, r.username, 1)
        for r in records
        if r.kind == CLIENT
    ]
    servers = [
        (r.session, r.message, r.date_us, r.status, r.ename, r.execution_count, r.username, 1)
        for r in records
        if r.kind == SERVER
    ]
    return clients, servers


def bare_ingest(path: Path, clients: list[tuple], servers: list[tuple], batch: int = 20_000) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    c_sql = (
        "INSERT INTO client_records (session, message, date_us, cell_id, tags, notebook, filename, codenum, source,"
        " username, received_us) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING"
    )
    s_sql = (
        "INSERT INTO server_records (session, message, date_us, status, ename, execution_count, username,"
        " received_us) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING"
    )
    for start in range(0, max(len(clients), len(servers)), batch // 2):
        with conn:
            conn.executemany(c_sql, clients[start : start + batch // 2])
            conn.executemany(s_sql, servers[start : start + batch // 2])
    conn.close()


HAND_SQL = {
    "totals": """SELECT count(*), sum(CASE WHEN s.status LIKE 'ok%' THEN 1 ELSE 0 END), count(DISTINCT s.username)
                 FROM server_records s LEFT JOIN client_records c ON c.session = s.session AND c.message = s.message""",
    "per_codenum": """SELECT c.filename, c.codenum, sum(CASE WHEN s.status LIKE 'ok%' THEN 1 ELSE 0 END),
                      sum(CASE WHEN s.status LIKE 'ok%' THEN 0 ELSE 1 END)
                      FROM server_records s
                      LEFT JOIN client_records c ON c.session = s.session AND c.message = s.message
                      GROUP BY c.filename, c.codenum ORDER BY c.filename, c.codenum""",
    "per_user": """SELECT s.username, sum(CASE WHEN s.status LIKE 'ok%' THEN 1 ELSE 0 END),
                   sum(CASE WHEN s.status LIKE 'ok%' THEN 0 ELSE 1 END)
                   FROM server_records s GROUP BY s.username ORDER BY s.username""",
    "progress": """SELECT s.username, s.date_us, c.codenum,
                   s.date_us - lag(s.date_us) OVER (PARTITION BY s.username ORDER BY s.date_us) > 1800000000
                   FROM server_records s JOIN client_records c ON c.session = s.session AND c.message = s.message
                   WHERE c.codenum IS NOT NULL ORDER BY s.username, s.date_us""",
}


def hand_queries(path: Path) -> None:
    conn = sqlite3.connect(path)
    for sql in HAND_SQL.values():
        conn.execute(sql).fetchall()
    conn.close()


def library_queries(path: Path) -> None:
    with Store.open(path, create=False) as store:
        stats(store, Filters())
        progress(store, Filters())


def best(func, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def compare_queries(db: Path, count: int) -> bool:
    """Time the four chart queries (best of 3) through the library and by hand over ``db``; print; target met?"""
    hand = best(lambda: hand_queries(db), 3)
    ours = best(lambda: library_queries(db), 3)
    ratio = ours / hand
    print(
        f"four chart queries over {count:,} records: hand-written SQL {hand:.2f}s, library {ours:.2f}s:"
        f" ratio {ratio:.2f}x (target <= {QUERY_TARGET}x)"
    )
    return ratio <= QUERY_TARGET


def queries_only(db: Path, n: int) -> bool:
    """Part 2 alone over the store ``db``; build it with ``n`` records when it does not exist."""
    if not db.exists():
        start = time.perf_counter()
        partial = db.with_name(db.name + ".part")
        partial.unlink(missing_ok=True)
        Store.open(partial).close()
        bare_ingest(partial, *bare_rows(make_records(n)))
        partial.replace(db)
        print(f"built {db} with {n:,} records in {time.perf_counter() - start:.1f}s (bare executemany)")
    with sqlite3.connect(db) as conn:
        count = conn.execute("SELECT count(*) FROM client_records").fetchone()[0]
        count += conn.execute("SELECT count(*) FROM server_records").fetchone()[0]
    ok = compare_queries(db, count)
    print("targets: " + ("met" if ok else "MISSED"))
    return ok


# -- concurrent posting ------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post_all(port: int, token: str, clients: int, posts: int) -> float:
    """``clients`` threads, each sending ``posts`` one-record posts on new connections; returns seconds."""

    def client(index: int) -> None:
        for n in range(posts):
            body = urlencode(
                {
                    "nb_logs[0][host]": "server",
                    "nb_logs[0][session]": f"bench-{index}",
                    "nb_logs[0][message]": f"m-{n}",
                    "nb_logs[0][status]": "ok",
                    "nb_logs[0][username]": f"u{index}",
                    "nb_logs[0][date]": "2024-04-17T00:00:00.000001Z",
                }
            ).encode()
            request = (
                f"POST /moodle/webservice/rest/server.php?wsfunction=mod_lticontainer_write_nblogs&wstoken={token}"
                f" HTTP/1.1\r\nHost: lms\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode() + body
            with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
                sock.sendall(request)
                while sock.recv(65536):  # read the answer (the real proxy does not; here it paces the client)
                    pass

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(client, range(clients)))
    return time.perf_counter() - start


def null_server(port: int, ready: threading.Event, stop: list) -> None:
    from tornado import web
    from tornado.httpserver import HTTPServer

    class Null(web.RequestHandler):
        def post(self, _prefix: str) -> None:
            self.finish('<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>\n</RESPONSE>\n')

    async def main() -> None:
        server = HTTPServer(web.Application([(r"(.*)/webservice/rest/server\.php", Null)]))
        server.listen(port, "127.0.0.1")
        event = asyncio.Event()
        stop.append((asyncio.get_running_loop(), event))
        ready.set()
        await event.wait()
        server.stop()

    asyncio.run(main())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--queries-only", action="store_true", help="only the chart queries (with --db)")
    parser.add_argument("--db", type=Path, help="the store for --queries-only (built when missing, then kept)")
    args = parser.parse_args()
    if args.queries_only:
        if args.db is None:
            parser.error("--queries-only needs --db FILE")
        return 0 if queries_only(args.db, args.records) else 1
    ok = True
    with tempfile.TemporaryDirectory(prefix="execlog-bench-") as tmp:
        work = Path(tmp)
        records = make_records(args.records)
        clients, servers = bare_rows(records)
        ours_times, floor_times = [], []
        for round_ in range(2):
            floor_db = work / f"floor{round_}.sqlite"
            Store.open(floor_db).close()
            start = time.perf_counter()
            bare_ingest(floor_db, clients, servers)
            floor_times.append(time.perf_counter() - start)
            ours_db = work / f"ours{round_}.sqlite"
            with Store.open(ours_db) as store:
                start = time.perf_counter()
                result = store.ingest(records)
                ours_times.append(time.perf_counter() - start)
                assert result.stored == len(records), result
        ratio = min(ours_times) / min(floor_times)
        ok &= ratio <= INGEST_TARGET
        print(
            f"ingest {len(records):,} records: bare executemany {min(floor_times):.2f}s, Store.ingest "
            f"{min(ours_times):.2f}s ({len(records) / min(ours_times):,.0f} records/s): ratio {ratio:.2f}x "
            f"(target <= {INGEST_TARGET}x)"
        )
        ok &= compare_queries(work / "ours0.sqlite", len(records))

        # 3. concurrent posting clients
        token = "bench-token"
        (work / "wstoken").write_text(token + "\n")
        port = free_port()
        collector_db = work / "collector.sqlite"
        program = Path(sys.executable).with_name("ipynb-tools")
        proc = subprocess.Popen(
            [str(program), "logs", "serve", "--db", str(collector_db), "--listen", f"127.0.0.1:{port}",
             "--wstoken-file", str(work / "wstoken")],
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            seconds = post_all(port, token, args.clients, args.posts)
        finally:
            proc.terminate()
            proc.wait(30)
        total = args.clients * args.posts
        stored = sqlite3.connect(collector_db).execute("SELECT count(*) FROM server_records").fetchone()[0]
        null_port = free_port()
        ready, stop = threading.Event(), []
        thread = threading.Thread(target=null_server, args=(null_port, ready, stop), daemon=True)
        thread.start()
        ready.wait(10)
        floor = post_all(null_port, token, args.clients, args.posts)
        loop, event = stop[0]
        loop.call_soon_threadsafe(event.set)
        lost = total - stored
        ok &= lost == 0
        print(
            f"{args.clients} concurrent clients, {total:,} one-record posts: {stored:,} stored, {lost} lost; "
            f"collector {total / seconds:,.0f} records/s, HTTP floor (stores nothing) {total / floor:,.0f} requests/s: "
            f"ratio {seconds / floor:.2f}x"
        )
    print("targets: " + ("met" if ok else "MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
