"""The console's dashboard over 1,000,000 execution records (issue 15, "Performance"), as ratios.

1. The dashboard's data: :func:`ipynb_tools.console.charts.dashboard` (the four charts of the last
   90 minutes and of the last 7 days: SQL through :mod:`ipynb_tools.execlog.query`, paging, Plotly
   figures) and its JSON, plus the page's HTML rendered from the real template, against the floor:
   the same SQL statements the dashboard runs (totals, per code cell, per user, progress of the first
   page's users; for both windows), compiled once and run bare with ``sqlite3`` (``fetchall``).
   Target: under 2x.
2. The page's weight without plotly.js: the HTML (which carries the figures' JSON and, in Japanese,
   plotly.js's locale) + the console's own charts.js. Target: under 300 KB.

The page is rendered in Japanese by default (``--lang en`` for English): the heavier one (Babel's
formatting, the plotly.js locale).

The store: N records (default 1,000,000: half client, half server, 200 users, 30 cells, one run
every ~7 s, so ~40 days) written with a bare ``executemany`` into the store's schema (as
benchmarks/execlog_bench.py does), every kernel session bound to course 98. "Now" is the last
record's time, so the real-time window holds its ~770 runs and the 7 days ~86,000.

``python benchmarks/console_bench.py [--records N] [--db FILE]`` (``--db``: keep the store there and
reuse it); exit 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from execlog_bench import bare_ingest, bare_rows, make_records

from ipynb_tools.console import charts
from ipynb_tools.execlog import query
from ipynb_tools.execlog.store import Store

RATIO_TARGET = 2.0
WEIGHT_TARGET = 300 * 1024
COURSE = "98"
ZONE = dt.timezone(dt.timedelta(hours=9), "JST")


def build(db: Path, n: int) -> None:
    """A store of ``n`` records, its sessions bound to course 98 / LTI 7 (skipped when ``db`` exists)."""
    if db.exists():
        return
    start = time.perf_counter()
    partial = db.with_name(db.name + ".part")
    partial.unlink(missing_ok=True)
    Store.open(partial).close()
    clients, servers = bare_rows(make_records(n))
    bare_ingest(partial, clients, servers)
    conn = sqlite3.connect(partial)
    with conn:
        conn.execute(
            "INSERT INTO sessions (session, inst_id, lti_id, course, username, date_us)"
            " SELECT session, '1', '7', ?, min(username), min(date_us) FROM server_records GROUP BY session",
            (COURSE,),
        )
        conn.execute("INSERT INTO activities (lti_id, course, inst_id) VALUES ('7', ?, '1')", (COURSE,))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    partial.replace(db)
    print(f"built {db} with {n:,} records in {time.perf_counter() - start:.1f}s (bare executemany)")


def statements(store: Store, now: dt.datetime) -> list[str]:
    """The SQL the dashboard runs at ``now``, with its values inlined (for the bare floor)."""
    out = []
    for request in (charts.ChartRequest(COURSE, realtime=True), charts.ChartRequest(COURSE, realtime=False)):
        filters = request.filters(now)
        with store.engine.connect() as conn:
            users = [u for u, *_ in conn.execute(query.per_user_query(filters))][: charts.LINES_PER_PAGE]
        for select in (
            query.totals_query(filters),
            query.per_codenum_query(filters),
            query.per_user_query(filters),
            query.progress_query(dataclasses.replace(filters, users=tuple(users))),
        ):
            out.append(str(select.compile(dialect=store.engine.dialect, compile_kwargs={"literal_binds": True})))
    return out


def floor(db: Path, sql: list[str]) -> float:
    start = time.perf_counter()
    conn = sqlite3.connect(db)
    for text in sql:
        conn.execute(text).fetchall()
    conn.close()
    return time.perf_counter() - start


def page(store: Store, now: dt.datetime, lang: str = "ja") -> tuple[float, dict[str, Any]]:
    """Seconds to compute the dashboard's data and page in ``lang``; the sizes of its parts."""
    from ipynb_tools.console.base import LANGUAGES, environment, translations
    from ipynb_tools.console.formats import Formats
    from ipynb_tools.console.pages.dashboard import dashboard_context

    prefix = "/services/console/"
    translate = translations(lang).gettext
    start = time.perf_counter()
    board = charts.dashboard(store, COURSE, now=now, zone=ZONE, translate=translate)
    data = charts.to_json(board.to_json())
    context = dashboard_context(
        board,
        data,
        course=COURSE,
        now=now,
        zone=ZONE,
        live_url=f"{prefix}course/{COURSE}/dashboard/live",
        plotly=f"{prefix}plotly/plotly-x.min.js",
        translate=translate,
        language=lang,
    )
    formats = Formats(lang, ZONE)
    page_context = {  # what ConsoleHandler.template_context gives every page
        "lang": lang,
        "languages": LANGUAGES,
        "url": lambda path="": prefix + path.lstrip("/"),
        "static_url": lambda path: f"{prefix}static/{path}?v=0123456789abcdef",
        "xsrf_form_html": lambda: "",
        "format_time": formats.datetime,
        "formats": formats,
        "viewer": None,
        "tabs": ["overview", "dashboard", "charts"],
        "tab": "dashboard",
        "path": f"{prefix}course/{COURSE}/dashboard",
        "query": "",
    }
    html = environment(lang).get_template("dashboard.html").render(**page_context, **context)
    seconds = time.perf_counter() - start
    return seconds, {"html": len(html.encode("utf-8")), "json": len(data.encode("utf-8")), "board": board}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, help="keep the store here (built when missing, reused after)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--lang", default="ja", help="the page's language (ja, the default, also carries plotly.js's locale)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="console-bench-") as tmp:
        db = args.db or Path(tmp) / "execlog.sqlite"
        build(db, args.records)
        conn = sqlite3.connect(db)
        last = conn.execute("SELECT max(date_us) FROM server_records").fetchone()[0]
        count = conn.execute("SELECT count(*) FROM client_records").fetchone()[0]
        count += conn.execute("SELECT count(*) FROM server_records").fetchone()[0]
        conn.close()
        now = dt.datetime.fromtimestamp(last / 1_000_000, dt.UTC) + dt.timedelta(seconds=1)
        with Store.open(db, create=False) as store:
            sql = statements(store, now)
            floors, ours = [], []
            sizes: dict[str, Any] = {}
            for _ in range(args.repeat):  # interleaved, so machine noise hits both alike
                floors.append(floor(db, sql))
                seconds, sizes = page(store, now, args.lang)
                ours.append(seconds)
        board = sizes["board"]
        script = Path(charts.__file__).with_name("static") / "charts.js"
        css = script.with_name("charts.css")
        weight = sizes["html"] + script.stat().st_size + css.stat().st_size
        ratio = min(ours) / min(floors)
        rt = sum(board.realtime[charts.ChartKind.OKERROR].figure.data[0].values)
        week = sum(board.period[charts.ChartKind.OKERROR].figure.data[0].values)
        print(
            f"dashboard ({args.lang}) over {count:,} records ({rt:,} executions in the real-time window,"
            f" {week:,} in the 7 days):"
            f" the {len(sql)} SQL statements bare {min(floors):.3f}s, the dashboard's data + JSON + HTML"
            f" {min(ours):.3f}s: ratio {ratio:.2f}x (target < {RATIO_TARGET}x)"
        )
        print(
            f"page weight without plotly.js: HTML {sizes['html'] / 1024:.1f} KB"
            f" (figures' JSON {sizes['json'] / 1024:.1f} KB of it) + charts.js and charts.css"
            f" {(script.stat().st_size + css.stat().st_size) / 1024:.1f} KB = {weight / 1024:.1f} KB"
            f" (target < {WEIGHT_TARGET // 1024} KB)"
        )
    ok = ratio < RATIO_TARGET and weight < WEIGHT_TARGET
    print("targets: " + ("met" if ok else "MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
