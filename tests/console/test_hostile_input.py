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
from zoneinfo import ZoneInfo

import pytest

from ipynb_tools.console.charts import ChartRequestError, parse_request
from ipynb_tools.execlog.store import Store

from .conftest import INSTRUCTOR, teacher_custom

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
