"""Fixtures of the console's tests: a real hub with the console as a service, and logged-in browsers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.hub.hubrun import HubStartError
from tests.requirements import unavailable

from .hubconsole import ConsoleHub, start_console_hub

INSTRUCTOR = "Instructor"
LEARNER = "Learner"


def teacher_custom(teachers: str) -> dict[str, str]:
    """The custom parameters of an activity whose teachers are ``teachers`` (lms_teachers)."""
    return {"lms_teachers": teachers}


@pytest.fixture(scope="session")
def console_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleHub]:
    """One hub with the console for the session (tests use distinct users and courses)."""
    try:
        hub = start_console_hub(tmp_path_factory.mktemp("console-hub"))
    except HubStartError as exc:
        unavailable(str(exc))
    try:
        yield hub
    finally:
        hub.stop()


@pytest.fixture
def login(chromium: Any, console_hub: ConsoleHub) -> Iterator[Callable[..., Any]]:
    """``login(user, role, custom, course=..., locale=...)`` -> a Playwright page logged in on the console
    through a signed LTI 1.1 launch (the hub's login, then the console's OAuth)."""
    contexts: list[Any] = []

    def _login(
        user: str,
        role: str = LEARNER,
        custom: dict[str, str] | None = None,
        *,
        course: str = "98",
        link: str = "7",
        locale: str = "en-US",
    ) -> Any:
        context = chromium.new_context(locale=locale)
        contexts.append(context)
        page = context.new_page()
        page.set_content(console_hub.launch_form(user, role, custom or {}, course=course, link=link))
        page.wait_for_url(f"{console_hub.console_url}**", timeout=60_000)
        page.wait_for_load_state()
        return page

    yield _login
    for context in contexts:
        context.close()
