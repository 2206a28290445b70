"""Odd values a hostile user sends the console get a 400 with the problem, never a 500 (issue 15 review).

The faults these tests found: a chart's ``page=`` of more than 4,300 digits (CPython's int() limit: a
ValueError), a period ``until=9999-12-31`` (its end of day is past year 9999) or ``since=0001-01-01``
(moved to UTC it is before year 1: OverflowError), and a Users form whose ``back`` holds a control
character other than a newline (tornado refuses it in the Location header) all gave a 500; and every
page's error path (no execution-log store yet, the hub or the LMS not answering) logged through
``self.log``, which tornado's handlers do not have: an AttributeError, a 500 instead of the page's 503.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from ipynb_tools.console.charts import ChartRequestError, parse_request
from ipynb_tools.execlog.records import CLIENT, SERVER, ExecRecord
from ipynb_tools.execlog.store import Launch, Store
from tests.hub.hubrun import CONSUMER_KEY, CONSUMER_SECRET, moodle_fields, signed_launch

from .conftest import INSTRUCTOR, LEARNER, teacher_custom
from .hubconsole import HOST

ZONE = ZoneInfo("Asia/Tokyo")


@pytest.mark.parametrize(
    ("args", "realtime", "problem"),
    [
        ({"page": "9" * 5000}, True, "page: "),
        ({"minutes": "1" * 4400}, True, "minutes: "),
        ({"until": "9999-12-31"}, False, "until: '9999-12-31' is not between 1970 and 9000"),
        ({"since": "0001-01-01"}, False, "since: '0001-01-01' is not between 1970 and 9000"),
        ({"since": "0001-01-01T00:00+14:00"}, False, "since: "),
        ({"until": "9999-12-31T23:59-14:00"}, False, "until: "),
        ({"since": "1969-12-31"}, False, "since: "),
    ],
)
def test_chart_request_out_of_range_is_a_problem(args: dict[str, str], realtime: bool, problem: str) -> None:
    with pytest.raises(ChartRequestError) as caught:
        parse_request(args, course="98", realtime=realtime, zone=ZONE)
    assert [p for p in caught.value.problems if p.startswith(problem)]


def test_chart_request_in_range_is_kept() -> None:
    request = parse_request(
        {"since": "1970-01-02", "until": "8999-12-30", "page": "1000000"}, course="98", realtime=False, zone=ZONE
    )
    assert request.since == dt.datetime(1970, 1, 2, tzinfo=ZONE)
    assert request.until == dt.datetime(8999, 12, 31, tzinfo=ZONE)
    assert request.page == 1_000_000


@pytest.mark.slow
def test_odd_values_through_the_real_console(login: Any, console_hub: Any) -> None:
    page = login("hoshi", INSTRUCTOR, teacher_custom("hoshi"), course="297")
    base = f"{console_hub.console_url}course/297/"
    # before any execution-log store exists (this test alone): the chart is unavailable, a 503 page
    # (the error path's self.log was an AttributeError: a 500), never a 500
    for path in ("charts/cells", "charts/cells/data", "dashboard", "dashboard/live"):
        reply = page.request.get(base + path)
        assert reply.status in (200, 503), (path, reply.status)
    Store.open(console_hub.db).close()  # as the collector makes it
    for query in ("page=" + "9" * 5000, "view=period&until=9999-12-31", "view=period&since=0001-01-01"):
        for path in ("charts/cells", "charts/cells/data"):
            reply = page.request.get(f"{base}{path}?{query}")
            assert reply.status == 400, (path, query[:30], reply.status)
            assert "Traceback" not in reply.text()

    # the Users page's own form, with a tab in its "back" query: the action is done, the redirect is plain
    page.goto(base + "users")
    token = page.locator("input[name='_xsrf']").first.get_attribute("value")
    reply = page.request.post(
        base + "users/action",
        form={"user": "hoshi", "action": "stop", "back": "?filter=a\tb", "_xsrf": token},
        max_redirects=0,
    )
    assert reply.status == 302
    assert reply.headers["location"].endswith("/course/297/users?done=stop&user=hoshi")


#: Markup a student or an LMS could put in a user name, an activity title, a course title, a notebook name.
XSS = "<img src=x onerror=window.__xss=1>"


def launch_page(hub: Any, chromium: Any, fields: dict[str, str]) -> Any:
    """A browser page logged in on the console through a signed launch of exactly ``fields``."""
    import html
    import urllib.parse

    url = f"{hub.url}/hub/lti/launch"
    body = signed_launch(url, fields, key=CONSUMER_KEY, secret=CONSUMER_SECRET)
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in urllib.parse.parse_qsl(body, keep_blank_values=True)
    )
    page = chromium.new_context().new_page()
    page.set_content(
        f'<form id="lti" method="post" action="{html.escape(url)}">{inputs}</form>'
        '<script>document.getElementById("lti").submit()</script>'
    )
    page.wait_for_url(f"{hub.console_url}**", timeout=60_000)
    return page


@pytest.mark.slow
def test_markup_in_names_and_titles_is_text_everywhere(chromium: Any, login: Any, console_hub: Any) -> None:
    course = "296"
    teacher = login("kaneko", INSTRUCTOR, teacher_custom("kaneko"), course=course)
    student = "eve" + XSS
    fields = moodle_fields(student, LEARNER, teacher_custom("kaneko"), course=course, host=HOST)
    fields |= {"resource_link_title": "Title " + XSS, "context_title": "Course " + XSS}
    student_page = launch_page(console_hub, chromium, fields)
    name = console_hub.api("GET", "users").json()
    hub_name = next(u["name"] for u in name if u["name"].startswith("eve"))
    student_page.context.close()
    assert "<img" in hub_name  # the hub kept the markup in the name

    store = Store.open(console_hub.db)
    now = int(dt.datetime.now(dt.UTC).timestamp() * 1_000_000)
    store.record_launch(Launch(hub_name, course, "7", "1", now - 60_000_000))  # as the spawner does
    notebook = "nb" + XSS + ".ipynb"
    store.ingest(
        [
            ExecRecord(
                kind=CLIENT,
                session="k1",
                message="m1",
                date_us=now,
                cell_id="c1",
                notebook=notebook,
                filename=notebook,
                codenum=1,
            ),
            ExecRecord(kind=SERVER, session="k1", message="m1", date_us=now + 1000, status="ok"),
        ],
        as_user=hub_name,
    )
    store.close()

    base = f"{console_hub.console_url}course/{course}/"
    for path in (
        "",
        "users",
        "dashboard",
        "charts/users?view=period",
        "charts/cells?notebook=" + quote(notebook),
        "../../me",
    ):
        reply = teacher.goto(base + path)
        assert reply.status == 200, path
        if "dashboard" in path or "charts" in path:
            teacher.wait_for_selector(".main-svg", timeout=30_000)
        assert teacher.evaluate("() => window.__xss") is None, path
        assert teacher.locator("main img").count() == 0, path
    teacher.goto(base + "users")
    assert hub_name in teacher.inner_text("main")  # the name is shown as text
    teacher.goto(base)
    assert "Title " + XSS in teacher.inner_text("main")  # the latest launch's titles, as text
    assert "Course " + XSS in teacher.inner_text("main")
    teacher.goto(base + "charts/users?view=period")
    teacher.wait_for_selector("#chart .main-svg", timeout=30_000)
    assert teacher.locator("#chart svg image, #chart img").count() == 0
    drawn = teacher.evaluate("() => document.getElementById('chart').data[0].x")
    assert [x for x in drawn if x.startswith("eve")]  # the student is drawn, the label plain text
    assert "eve" in teacher.inner_text("#chart") and "<img" in teacher.inner_text("#chart")
    assert teacher.evaluate("() => window.__xss") is None
