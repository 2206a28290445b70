"""Fixtures of the console's tests: a real hub with the console as a service, and logged-in browsers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.hub.hubrun import HubStartError, free_port
from tests.lms import conftest as lms_fixtures
from tests.requirements import unavailable

from .hubconsole import ConsoleHub, start_console_hub

# the LMS tests' private PostgreSQL/MariaDB servers and seeded Moodle sites (tests/lms/conftest.py), for
# the Overview/Edit/Connections tests: defined once here, so the console's tests share one server of each kind
postgres_server = lms_fixtures.postgres_server
mariadb_server = lms_fixtures.mariadb_server
db_server = lms_fixtures.db_server
make_site = lms_fixtures.make_site
site = lms_fixtures.site

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


#: The LMS database password the engine hub's console gets (the LMS is unreachable: the Overview shows the
#: adapter's one-line problem, which must not hold it).
LMS_PASSWORD = "lms-Pa55word-never-shown"


@pytest.fixture(scope="session")
def engine_console_hub(docker_engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleHub]:
    """A hub whose console manages the volumes of the private Docker engine (over mutual TLS when the
    fixture offers it, so there are key files that must never show) and has an LMS adapter configured."""
    environment = {"IPYNB_TOOLS_MOODLE_DB_PASSWORD": LMS_PASSWORD}
    args = ["--moodle-db", f"postgresql://moodle@127.0.0.1:{free_port()}/moodle"]
    if docker_engine.tls_url and docker_engine.tls_dir:
        args += ["--engine-url", docker_engine.tls_url]
        environment |= {"DOCKER_CERT_PATH": str(docker_engine.tls_dir), "DOCKER_TLS_VERIFY": "1"}
    else:
        args += ["--engine-url", docker_engine.url]
    try:
        hub = start_console_hub(
            tmp_path_factory.mktemp("console-engine-hub"), console_args=args, environment=environment
        )
    except HubStartError as exc:
        unavailable(str(exc))
    try:
        yield hub
    finally:
        hub.stop()


def logger_in(chromium: Any, hub: ConsoleHub, contexts: list[Any]) -> Callable[..., Any]:
    """``login(user, role, custom, course=..., locale=...)`` on ``hub`` (see :func:`login`)."""

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
        page.set_content(hub.launch_form(user, role, custom or {}, course=course, link=link))
        page.wait_for_url(f"{hub.console_url}**", timeout=60_000)
        page.wait_for_load_state()
        return page

    return _login


@pytest.fixture
def engine_login(chromium: Any, engine_console_hub: ConsoleHub) -> Iterator[Callable[..., Any]]:
    """:func:`login` on the engine hub."""
    contexts: list[Any] = []
    yield logger_in(chromium, engine_console_hub, contexts)
    for context in contexts:
        context.close()


@pytest.fixture
def login(chromium: Any, console_hub: ConsoleHub) -> Iterator[Callable[..., Any]]:
    """``login(user, role, custom, course=..., locale=...)`` -> a Playwright page logged in on the console
    through a signed LTI 1.1 launch (the hub's login, then the console's OAuth)."""
    contexts: list[Any] = []
    yield logger_in(chromium, console_hub, contexts)
    for context in contexts:
        context.close()
