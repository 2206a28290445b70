"""The Users page: the course's users joined with the hub, sorted/filtered/paginated on the server; a teacher
stops a student's real server (issue 15)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest

from ipynb_tools.console.hubapi import HubServer, HubUser
from ipynb_tools.console.launches import MemberSeen
from ipynb_tools.console.users import course_users, parse_query, table_page
from tests.browser import artifact_dir

from .conftest import INSTRUCTOR, LEARNER, teacher_custom
from .hubconsole import ConsoleHub


def hub_user(name: str, running: bool, minute: int, admin: bool = False) -> HubUser:
    when = datetime(2026, 11, 30, 9, minute, tzinfo=UTC)
    servers = {"": HubServer("", running, None, when, when)} if running else {}
    return HubUser(name, admin, when, servers)


def rows(count: int = 12):
    members = [MemberSeen(f"s{i:02d}", i == 0, ("Learner",), i) for i in range(count)] + [
        MemberSeen("gone", False, (), 99)
    ]
    users = [hub_user(f"s{i:02d}", i % 3 == 0, i) for i in range(count)]
    return course_users(members, users)


def test_join_marks_running_teachers_and_users_the_hub_forgot() -> None:
    by_name = {r.name: r for r in rows()}
    assert by_name["s00"].teacher and by_name["s00"].running and by_name["s00"].servers == ("",)
    assert not by_name["s01"].running and by_name["s01"].known_to_hub
    assert not by_name["gone"].known_to_hub and by_name["gone"].last_activity is None


def test_sort_filter_and_pages_on_the_server() -> None:
    table = rows()
    page = table_page(table, parse_query({"sort": "last_activity", "order": "desc", "per_page": "5"}))
    assert [r.name for r in page.rows] == ["s11", "s10", "s09", "s08", "s07"]
    assert (page.total, page.pages) == (13, 3)
    last = table_page(table, parse_query({"sort": "last_activity", "order": "desc", "per_page": "5", "page": "9"}))
    assert last.page == 3 and [r.name for r in last.rows][-1] == "gone"  # past the end: the last page
    running = table_page(table, parse_query({"show": "running"}))
    assert [r.name for r in running.rows] == ["s00", "s03", "s06", "s09"]
    assert [r.name for r in table_page(table, parse_query({"filter": "S1"})).rows] == ["s10", "s11"]
    assert table_page(table, parse_query({"sort": "role"})).rows[0].name == "s00"  # the teacher first
    # anything else falls back to the defaults, never an error
    odd = parse_query({"sort": "password", "page": "-4", "per_page": "x", "show": "<script>"})
    assert (odd.sort, odd.page, odd.per_page, odd.show) == ("name", 1, 50, "all")


def wait_for(check, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def server_running(hub: ConsoleHub, user: str) -> bool:
    model = hub.api("GET", f"users/{user}").json()
    server = (model.get("servers") or {}).get("")
    return bool(server and server.get("ready"))


@pytest.mark.slow
def test_teacher_stops_a_students_server(login, console_hub: ConsoleHub) -> None:
    login("ueda", LEARNER, teacher_custom("kato"), course="97").context.close()
    teacher = login("kato", INSTRUCTOR, teacher_custom("kato"), course="97")
    reply = console_hub.api("POST", "users/ueda/server")
    assert reply.status_code in (201, 202), reply.text
    wait_for(lambda: server_running(console_hub, "ueda"), what="ueda's server")

    teacher.goto(console_hub.console_url + "course/97/users?sort=name")
    row = teacher.locator("tr[data-user='ueda']")
    assert row.locator("td.state").inner_text() == "running"
    assert "teacher" in teacher.locator("tr[data-user='kato']").inner_text()
    teacher.screenshot(path=str(artifact_dir("console") / "users-stop-en.png"), full_page=True)
    row.locator("button[value='stop']").click()
    teacher.wait_for_url("**/users?*done=stop*")
    assert "ueda" in teacher.inner_text("p.notice")
    assert not server_running(console_hub, "ueda")
    assert teacher.locator("tr[data-user='ueda'] td.state").inner_text() == "stopped"
    # the times for the page's locale in the site's zone (formats.py): English, then Japanese
    last_launch = teacher.locator("tr[data-user='kato'] td:nth-child(5)")
    assert re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}\s[AP]M", last_launch.inner_text()), (
        last_launch.inner_text()
    )
    teacher.goto(console_hub.console_url + "course/97/users?sort=name&lang=ja")
    assert teacher.locator("tr[data-user='ueda'] td.state").inner_text() == "停止"
    japanese = teacher.locator("tr[data-user='kato'] td:nth-child(5)").inner_text()
    assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日 \d{1,2}:\d{2}", japanese), japanese
    assert re.fullmatch(
        r"\d{4}年\d{1,2}月\d{1,2}日 \d{1,2}:\d{2}", teacher.locator("tr[data-user='ueda'] td:nth-child(4)").inner_text()
    )
    teacher.screenshot(path=str(artifact_dir("console") / "users-stop-ja.png"), full_page=True)


@pytest.mark.slow
def test_teacher_deletes_a_students_named_server(login, console_hub: ConsoleHub) -> None:
    login("kubo", LEARNER, teacher_custom("kato"), course="97").context.close()
    teacher = login("kato", INSTRUCTOR, teacher_custom("kato"), course="97")
    reply = console_hub.api("POST", "users/kubo/servers/extra")
    assert reply.status_code in (201, 202), reply.text

    def named() -> dict:
        return console_hub.api("GET", "users/kubo?include_stopped_servers=1").json().get("servers") or {}

    wait_for(lambda: (named().get("extra") or {}).get("ready"), what="kubo's named server")
    teacher.goto(console_hub.console_url + "course/97/users?filter=kubo")
    assert teacher.locator("tr[data-user]").count() == 1  # the filter is applied on the server
    teacher.locator("tr[data-user='kubo'] button[value='delete']").click()
    teacher.wait_for_url("**/users?*done=delete*")
    assert "filter=kubo" in teacher.url  # back to the same view
    # the hub answers 202 and deletes the server once it has stopped
    wait_for(lambda: "extra" not in named(), what="kubo's named server deleted")
