"""The console's chart figures over a real execution-log store (SQLite file and the private PostgreSQL).

The expected figures are counted here in Python from the generated runs (an independent count), and
compared with what the Plotly figures carry.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest

from ipynb_tools.console.charts import (
    BARS_PER_PAGE,
    LINES_PER_PAGE,
    ChartKind,
    ChartRequest,
    ChartRequestError,
    chart,
    dashboard,
    parse_request,
    to_json,
)
from ipynb_tools.execlog.records import CLIENT, SERVER, ExecRecord
from ipynb_tools.execlog.store import Launch, Store
from tests.execlog.conftest import db_url, postgres_server  # noqa: F401 - the execlog tests' store fixtures

NOW = dt.datetime(2024, 4, 17, 12, 0, tzinfo=dt.UTC)
TOKYO = ZoneInfo("Asia/Tokyo")


@dataclass(frozen=True)
class Run:
    user: str
    when: dt.datetime
    notebook: str
    codenum: int | None
    ok: bool
    lti: str


def ingest(store: Store, runs: list[Run], course: str = "98") -> None:
    """Store ``runs`` as the collector does: each user's launch first, then client + server records."""
    for user, lti in sorted({(r.user, r.lti) for r in runs}):
        store.record_launch(Launch(user, course, lti, "1", int((NOW - dt.timedelta(days=30)).timestamp() * 1e6)))
    batches: dict[str, list[ExecRecord]] = {}
    for i, r in enumerate(runs):
        us = int(r.when.timestamp() * 1_000_000)
        session = f"{r.user}-{r.lti}"
        batches.setdefault(r.user, []).extend([
            ExecRecord(
                kind=CLIENT, session=session, message=f"m{i}", date_us=us, cell_id=f"{r.notebook}-{r.codenum}",
                notebook=r.notebook, filename=r.notebook, codenum=r.codenum,
            ),
            ExecRecord(
                kind=SERVER, session=session, message=f"m{i}", date_us=us + 1000, status="ok" if r.ok else "error"
            ),
        ])  # fmt: skip
    for user, records in batches.items():
        store.ingest(records, as_user=user)


def generated(users: int = 40, per_user: int = 12, seed: int = 5) -> list[Run]:
    rng = random.Random(seed)
    runs = []
    for u in range(users):
        for k in range(per_user):
            when = NOW - dt.timedelta(minutes=rng.randint(1, 60 * 24 * 6))
            runs.append(
                Run(f"s{u:03d}", when, rng.choice(["kadai-1.ipynb", "kadai-2.ipynb"]), k % 20 + 1, rng.random() > 0.25,
                    "7" if u % 2 else "8")
            )  # fmt: skip
    return runs


def bars(view) -> dict[str, dict[str, int]]:
    """{trace name: {x label: y}} of a bar figure."""
    return {t.name: dict(zip(t.x, t.y, strict=True)) for t in view.figure.data}


def test_period_charts_count_what_was_run(tmp_path) -> None:
    runs = generated()
    with Store.open(tmp_path / "execlog.sqlite") as store:
        ingest(store, runs)
        request = ChartRequest("98", realtime=False)
        pie = chart(store, ChartKind.OKERROR, request, now=NOW)
        (trace,) = pie.figure.data
        assert list(trace.values) == [sum(r.ok for r in runs), sum(not r.ok for r in runs)]

        per_user = Counter((r.user, r.ok) for r in runs)
        users = sorted({r.user for r in runs})
        seen: dict[str, tuple[int, int]] = {}
        pages = []
        for page in (1, 2, 3):
            view = chart(store, ChartKind.USERS, ChartRequest("98", realtime=False, page=page), now=NOW)
            pages.append(view.paging)
            drawn = bars(view)
            for name in drawn["OK"]:
                seen[name] = (drawn["OK"][name], drawn["error"][name])
        assert [p.page for p in pages] == [1, 2, 3] and {p.pages for p in pages} == {3}
        assert [(p.first, p.last) for p in pages] == [(1, 15), (16, 30), (31, 40)]
        assert seen == {u: (per_user[(u, True)], per_user[(u, False)]) for u in users}
        past_end = chart(store, ChartKind.USERS, ChartRequest("98", realtime=False, page=99), now=NOW)
        assert past_end.paging.page == 3  # the last page, not an error

        cells = chart(store, ChartKind.CELLS, request, now=NOW)
        per_cell = Counter((r.notebook.removesuffix(".ipynb"), r.codenum, r.ok) for r in runs)
        labels = sorted({(nb, num) for nb, num, _ in per_cell})
        assert (
            cells.paging.total == len(labels) == 24
            and cells.paging.pages == 2
            and cells.paging.per_page == BARS_PER_PAGE
        )
        drawn = bars(cells)
        assert list(drawn["OK"]) == [f"{nb} {num}" for nb, num in labels[:BARS_PER_PAGE]]
        assert all(drawn["OK"][f"{nb} {num}"] == per_cell[(nb, num, True)] for nb, num in labels[:BARS_PER_PAGE])
        assert cells.notebooks == ["kadai-1.ipynb", "kadai-2.ipynb"]


def test_realtime_window_and_filters(tmp_path) -> None:
    runs = [
        Run("alice", NOW - dt.timedelta(minutes=10), "kadai-1.ipynb", 1, True, "7"),
        Run("alice", NOW - dt.timedelta(minutes=100), "kadai-1.ipynb", 2, True, "7"),  # before the 90 minutes
        Run("bob", NOW - dt.timedelta(minutes=20), "kadai-1.ipynb", 1, False, "8"),
        Run("bob", NOW - dt.timedelta(minutes=5), "kadai-2.ipynb", 3, True, "8"),
        Run("carol", NOW - dt.timedelta(days=8), "kadai-1.ipynb", 1, True, "7"),  # before the 7 days
    ]
    with Store.open(tmp_path / "execlog.sqlite") as store:
        ingest(store, runs)
        ingest(store, [Run("dave", NOW - dt.timedelta(minutes=1), "kadai-1.ipynb", 1, True, "9")], course="99")

        def pie(request: ChartRequest) -> list[int]:
            view = chart(store, ChartKind.OKERROR, request, now=NOW)
            return list(view.figure.data[0].values) if view.figure.data else [0, 0]

        assert pie(ChartRequest("98")) == [2, 1]
        assert pie(ChartRequest("98", minutes=120)) == [3, 1]
        assert pie(ChartRequest("98", realtime=False)) == [3, 1]
        assert pie(ChartRequest("98", realtime=False, since=NOW - dt.timedelta(days=9))) == [4, 1]
        assert pie(ChartRequest("98", user="bob")) == [1, 1]
        assert pie(ChartRequest("98", lti="7")) == [1, 0]
        assert pie(ChartRequest("98", notebook="kadai-2.ipynb")) == [1, 0]
        assert pie(ChartRequest("99")) == [1, 0]
        assert pie(ChartRequest("98", user="nobody")) == [0, 0]
        empty = chart(store, ChartKind.CELLS, ChartRequest("98", user="nobody"), now=NOW)
        assert not empty.figure.data and "No executions" in empty.figure.layout.annotations[0].text


def test_progress_lines_break_after_gaps_in_the_site_zone(tmp_path) -> None:
    base = NOW - dt.timedelta(hours=5)
    runs = [
        Run("alice", base, "kadai-1.ipynb", 1, True, "7"),
        Run("alice", base + dt.timedelta(minutes=10), "kadai-1.ipynb", 2, True, "7"),
        Run("alice", base + dt.timedelta(minutes=80), "kadai-1.ipynb", 3, True, "7"),  # 70 minutes later
        Run("bob", base + dt.timedelta(minutes=1), "kadai-1.ipynb", 1, True, "7"),
        Run("bob", base + dt.timedelta(minutes=2), "kadai-1.ipynb", None, True, "7"),  # unnumbered: no point
    ]
    runs += [Run(f"u{i:02d}", base, "kadai-1.ipynb", 1, True, "7") for i in range(12)]
    with Store.open(tmp_path / "execlog.sqlite") as store:
        ingest(store, runs)
        view = chart(store, ChartKind.PROGRESS, ChartRequest("98", realtime=False), now=NOW, zone=TOKYO)
        lines = {t.name: t for t in view.figure.data}
        assert view.paging.total == 14 and view.paging.pages == 2 and len(lines) == LINES_PER_PAGE
        alice = lines["alice"]
        local = [(base + dt.timedelta(minutes=m)).astimezone(TOKYO).strftime("%Y-%m-%d %H:%M:%S") for m in (0, 10, 80)]
        assert list(alice.x) == [local[0], local[1], None, local[2]]
        assert list(alice.y) == [1, 2, None, 3]
        assert local[0].endswith("16:00:00")  # 07:00 UTC is 16:00 in Tokyo
        assert list(lines["bob"].y) == [1]
        second = chart(store, ChartKind.PROGRESS, ChartRequest("98", realtime=False, page=2), now=NOW)
        assert {t.name for t in second.figure.data} == {"u08", "u09", "u10", "u11"}


def test_dashboard_has_both_windows(db_url: str) -> None:  # noqa: F811 - the fixture imported above
    runs = [Run("alice", NOW - dt.timedelta(minutes=m), "kadai-1.ipynb", 1, m % 3 != 0, "7") for m in range(1, 200, 7)]
    with Store.open(db_url) as store:
        ingest(store, runs)
        board = dashboard(store, "98", now=NOW)
        assert set(board.realtime) == set(board.period) == set(ChartKind)
        rt = board.realtime[ChartKind.OKERROR].figure.data[0].values
        recent = [r for r in runs if NOW - r.when <= dt.timedelta(minutes=90)]
        assert list(rt) == [sum(r.ok for r in recent), sum(not r.ok for r in recent)]
        assert sum(board.period[ChartKind.OKERROR].figure.data[0].values) == len(runs)
        data = json.loads(to_json(board.to_json()))
        assert set(data) == {"realtime", "period"}
        assert data["period"]["users"]["paging"]["total"] == 1
        live = dashboard(store, "98", now=NOW, parts=("realtime",))
        assert live.period == {} and set(live.to_json("realtime")) == {"realtime"}


def test_student_text_is_never_markup(tmp_path) -> None:
    evil = '<a href="javascript:alert(1)">x</a></script>'
    runs = [Run(evil, NOW - dt.timedelta(minutes=3), f"{evil}.ipynb", 1, True, "7")]
    with Store.open(tmp_path / "execlog.sqlite") as store:
        ingest(store, runs)
        users = chart(store, ChartKind.USERS, ChartRequest("98"), now=NOW)
        cells = chart(store, ChartKind.CELLS, ChartRequest("98"), now=NOW)
        label = users.figure.data[0].x[0]
        assert "<" not in label and label.startswith("&lt;a href")
        assert "<" not in cells.figure.data[0].customdata[0]
        text = to_json([users.to_json(), cells.to_json()])
        assert "<" not in text and ">" not in text
        assert json.loads(text)[0]["figure"]["data"][0]["x"][0] == label


def test_parse_request_reads_and_refuses() -> None:
    got = parse_request(
        {"user": " alice ", "lti": "7", "notebook": "", "page": "2", "since": "2024-04-10", "until": "2024-04-16"},
        course="98",
        realtime=False,
        zone=TOKYO,
    )
    assert (got.user, got.lti, got.notebook, got.page) == ("alice", "7", None, 2)
    assert got.since == dt.datetime(2024, 4, 10, tzinfo=TOKYO)
    assert got.until == dt.datetime(2024, 4, 17, tzinfo=TOKYO)  # the whole of the 16th
    assert got.window(NOW) == (got.since, got.until)
    default = parse_request({}, course="98", realtime=False, zone=TOKYO)
    assert default.window(NOW) == (NOW - dt.timedelta(days=7), NOW)
    realtime = parse_request({"minutes": "30", "_xsrf": "x"}, course="98", realtime=True, zone=TOKYO)
    assert realtime.window(NOW) == (NOW - dt.timedelta(minutes=30), None)

    with pytest.raises(ChartRequestError) as caught:
        parse_request(
            {"page": "0", "minutes": "9e9", "since": "yesterday", "user": "x" * 300},
            course="98",
            realtime=False,
            zone=TOKYO,
        )
    problems = caught.value.problems
    assert [p.split(":")[0] for p in problems] == ["user", "page", "minutes", "since"]
    with pytest.raises(ChartRequestError, match="until: the end of the period is not after its start"):
        parse_request(
            {"since": "2024-04-10T10:00", "until": "2024-04-10T09:00"}, course="98", realtime=False, zone=TOKYO
        )
    with pytest.raises(ChartRequestError, match="page"):
        parse_request({"page": "-1"}, course="98", realtime=True, zone=TOKYO)


def test_progress_axis_counts_whole_code_cells_in_both_sizes() -> None:
    """Code cell numbers have no 0.5 ticks: the dashboard's small chart showed 0.5 and 1.5 for cells 1 and 2."""
    from ipynb_tools.console.charts import ProgressPoints, progress_figure

    lines = [ProgressPoints("aoki", ["2026-11-30 10:00", "2026-11-30 10:05"], [1, 2])]
    for compact in (False, True):
        yaxis = progress_figure(lines, compact=compact).layout.yaxis
        assert yaxis.tickformat == "d" and yaxis.dtick == 1, compact
    many = [ProgressPoints("aoki", ["2026-11-30 10:00", "2026-11-30 10:05"], [1, 40])]
    small = progress_figure(many, compact=True).layout.yaxis
    assert small.tickformat == "d" and small.dtick is None  # plotly picks the step; whole numbers still
