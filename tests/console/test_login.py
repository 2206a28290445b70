"""A teacher arrives from Moodle (a signed LTI 1.1 launch) and is logged in on the console (issue 15)."""

from __future__ import annotations

import pytest

from tests.browser import artifact_dir

from .conftest import INSTRUCTOR, teacher_custom

pytestmark = pytest.mark.slow


def test_teacher_lands_logged_in_on_the_console(login, console_hub) -> None:
    page = login("tanaka", INSTRUCTOR, teacher_custom("tanaka"), course="98")
    assert page.url.startswith(console_hub.console_url)
    # the header names the user and the role the launch recorded; the course list has course 98
    assert "tanaka" in page.inner_text("header")
    assert "teacher" in page.inner_text("header")
    page.click("a[href$='/course/98/']")
    page.wait_for_url("**/course/98/")
    assert page.inner_text("h1") == "Overview"
    assert "プログラミング演習" in page.inner_text("main")  # the course title from the launch
    page.screenshot(path=str(artifact_dir("console") / "login-overview-en.png"), full_page=True)
