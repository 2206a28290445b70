"""The Dashboard and Charts pages in a real hub + console, driven in headless Chromium (issue 15).

The execution records go into the console's execution-log store with ``Store.ingest(as_user=...)``,
the collector's own call (a course's records are bound to it by the user's recorded launch), while
the teacher's page is open: the real-time charts must show them at the next live refresh.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from pathlib import Path

import plotly
import pytest
import requests

from ipynb_tools.console.pages.dashboard import REFRESH_SECONDS
from ipynb_tools.console.plotly_locale import plotly_locale
from ipynb_tools.execlog.records import CLIENT, SERVER, ExecRecord
from ipynb_tools.execlog.store import Launch, Store
from tests.browser import artifact_dir

from .conftest import INSTRUCTOR, LEARNER, teacher_custom

pytestmark = pytest.mark.slow

COURSE = "298"
TEACHER = "suzuki"
STUDENTS = ["aoki", "baba", "chiba"]
_messages = itertools.count()
#: The date axis' tick labels plotly.js drew (SVG text: no innerText)
XTICKS = "() => [...document.querySelectorAll('#chart .xtick text')].map(t => t.textContent)"
#: The modebar's tooltips plotly.js drew
MODEBAR_TITLES = "() => [...document.querySelectorAll('#chart .modebar-btn')].map(b => b.dataset.title)"


def runs(store: Store, user: str, cells: list[tuple[int, bool]], minutes_ago: float = 5) -> None:
    """``user`` ran these (codenum, ok) cells of kadai-1.ipynb, a few seconds apart, ``minutes_ago``."""
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)
    records = []
    for i, (codenum, ok) in enumerate(cells):
        us = int((start + dt.timedelta(seconds=5 * i)).timestamp() * 1_000_000)
        message = f"msg-{next(_messages)}"
        records += [
            ExecRecord(kind=CLIENT, session=f"{user}-kernel", message=message, date_us=us, cell_id=f"c{codenum}",
                       notebook="kadai-1.ipynb", filename="kadai-1.ipynb", codenum=codenum),
            ExecRecord(kind=SERVER, session=f"{user}-kernel", message=message, date_us=us + 500_000,
                       status="ok" if ok else "error"),
        ]  # fmt: skip
    store.ingest(records, as_user=user)


@pytest.fixture
def course_log(console_hub) -> Store:
    """The console's execution-log store with course 298's launches recorded (as the spawner does)."""
    store = Store.open(console_hub.db)
    launched = int((dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).timestamp() * 1_000_000)
    for user in STUDENTS:
        store.record_launch(Launch(user, COURSE, "7", "1", launched))
    yield store
    store.close()


def pie_values(page, element: str) -> list[int]:
    """The OK/error values plotly.js drew in ``element`` (the graph div keeps its figure's data)."""
    return page.evaluate(f"() => (document.getElementById({element!r}).data[0] || {{values: [0, 0]}}).values")


def test_teacher_sees_the_dashboard_update_live(login, console_hub, course_log) -> None:
    runs(course_log, "aoki", [(1, True), (2, True), (3, False)])
    runs(course_log, "baba", [(1, True), (2, False)], minutes_ago=60 * 24 * 3)  # in the 7 days, not right now
    page = login(TEACHER, INSTRUCTOR, teacher_custom(TEACHER), course=COURSE)
    page.goto(f"{console_hub.console_url}course/{COURSE}/dashboard")
    assert page.inner_text("h1") == "Dashboard"
    for part in ("realtime", "period"):
        for kind in ("okerror", "cells", "users", "progress"):
            page.wait_for_selector(f"#{part}-{kind} .main-svg", timeout=30_000)  # drawn by plotly.js
    assert pie_values(page, "realtime-okerror") == [2, 1]
    assert pie_values(page, "period-okerror") == [3, 2]
    assert page.evaluate("() => document.getElementById('realtime-users').data[0].x") == ["aoki"]
    page.screenshot(path=str(artifact_dir("console") / "dashboard-en.png"), full_page=True)

    before = page.inner_text("#updated")
    runs(course_log, "chiba", [(1, True), (2, True), (4, True), (5, False)], minutes_ago=1)
    page.wait_for_function(
        "() => document.getElementById('realtime-okerror').data[0].values[0] === 5",
        timeout=REFRESH_SECONDS * 6 * 1000,  # a few refreshes: the machine may be busy
    )
    assert pie_values(page, "realtime-okerror") == [5, 2]
    assert page.evaluate("() => document.getElementById('realtime-users').data[0].x") == ["aoki", "chiba"]
    assert page.inner_text("#updated") != before
    assert "failed" not in (page.get_attribute("#live", "class") or "")

    page.goto(f"{console_hub.console_url}course/{COURSE}/dashboard?lang=ja")
    page.wait_for_selector("#period-progress .main-svg", timeout=30_000)
    assert "現在: 直近 90 分" in page.inner_text("main")
    assert "コードセル別の実行" in page.inner_text("main")
    titles = page.evaluate("() => document.getElementById('period-users').layout.title.text")
    assert titles == "ユーザ別の実行"  # the figures' own texts are translated too
    page.screenshot(path=str(artifact_dir("console") / "dashboard-ja.png"), full_page=True)
    page.goto(f"{console_hub.console_url}course/{COURSE}/dashboard?lang=en")


def test_chart_page_filters_pages_and_refuses_bad_values(login, console_hub, course_log) -> None:
    runs(course_log, "aoki", [(1, True), (2, False)], minutes_ago=30)
    runs(course_log, "chiba", [(1, True)], minutes_ago=20)
    page = login(TEACHER, INSTRUCTOR, teacher_custom(TEACHER), course=COURSE)
    base = f"{console_hub.console_url}course/{COURSE}/charts"
    page.goto(f"{base}/users?view=period&user=aoki")
    page.wait_for_selector("#chart .main-svg", timeout=30_000)
    assert page.evaluate("() => document.getElementById('chart').data[0].x") == ["aoki"]
    assert page.input_value("input[name=user]") == "aoki"
    page.screenshot(path=str(artifact_dir("console") / "chart-users-en.png"), full_page=True)
    assert page.evaluate("() => document.getElementById('chart')._context.locale") == "en-US"  # plotly.js's own
    assert page.locator("#chart .modebar-btn[data-title='Zoom in']").count() == 1
    # no button that uploads the course's data to Plotly Cloud (plotly.js 3's "Share chart...")
    assert "Share chart..." not in page.evaluate(MODEBAR_TITLES)

    page.goto(f"{base}/progress?view=period&lang=ja")
    page.wait_for_selector("#chart .main-svg", timeout=30_000)
    names = page.evaluate("() => document.getElementById('chart').data.map(t => t.name)")
    assert {"aoki", "chiba"} <= set(names)
    # plotly.js in Japanese (plotly_locale.py): the date axis' date with CLDR's month and day, and the modebar
    assert page.evaluate("() => document.getElementById('chart')._context.locale") == "ja"
    ticks = " ".join(page.evaluate(XTICKS))
    assert re.search(r"\d{1,2}月\d{1,2}日", ticks), ticks
    assert page.locator("#chart .modebar-btn[data-title='拡大']").count() == 1
    assert page.locator("#chart .modebar-btn[data-title='Zoom in']").count() == 0
    japanese = set(plotly_locale("ja")["dictionary"].values())  # type: ignore[index]
    titles = page.evaluate(MODEBAR_TITLES)
    assert titles and set(titles) <= japanese, titles  # every tooltip is one of ours, none English
    # the real-time window's field reads 'the last (minutes)', not a bare '分' before the number
    assert page.inner_text("label:has(input[name=minutes])").strip() == "直近（分）"
    # the page's own times for the locale: the period's start as a Japanese date
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d{1,2}:\d{2}", page.inner_text("main"))
    page.screenshot(path=str(artifact_dir("console") / "chart-progress-ja.png"), full_page=True)

    response = page.goto(f"{base}/cells?view=period&since=yesterday&page=0&lang=en")
    assert response.status == 400
    problems = page.inner_text(".problem")
    assert "since: 'yesterday' is not a date or date-time" in problems
    assert "page: '0' is not a whole number" in problems
    page.wait_for_selector("#chart .main-svg", timeout=30_000)  # the defaults are still drawn

    page.goto(f"{base}/okerror")  # the real-time view: its script polls .../data with the page's XSRF token
    xsrf = page.get_attribute("#live", "data-xsrf")
    fetch = f"() => fetch('{base}/okerror/data?view=realtime', {{headers: {{'X-XSRFToken': {xsrf!r}}}}})"
    data = page.evaluate(fetch + ".then(r => r.json())")
    assert data["chart"]["kind"] == "okerror" and data["chart"]["figure"]["data"]
    assert page.goto(f"{base}/nosuchchart").status == 404


def test_student_and_other_teacher_get_403(login, console_hub, course_log) -> None:
    student = login("aoki", LEARNER, teacher_custom(TEACHER), course=COURSE)
    other = login("kato", INSTRUCTOR, teacher_custom("kato"), course="299")
    for page in (student, other):
        for path in ("dashboard", "dashboard/live", "charts", "charts/users?view=period", "charts/okerror/data"):
            response = page.goto(f"{console_hub.console_url}course/{COURSE}/{path}")
            assert response.status == 403, path
            assert "aoki" not in page.content() or page is student  # nothing of the course is shown
            assert "kadai-1" not in page.content()


def test_plotly_js_comes_from_the_plotly_package(console_hub) -> None:
    wanted = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    url = f"{console_hub.console_url}plotly/plotly-{plotly.__version__}.min.js"
    response = requests.get(url, timeout=60)
    assert response.status_code == 200 and response.content == wanted
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert requests.get(url.replace(plotly.__version__, "0.0.1"), timeout=60).status_code == 404
