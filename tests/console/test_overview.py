"""The Overview's data (issue 15): the course from the launches, the LMS's activities from a real Moodle
database (the adapter's PostgreSQL and MariaDB fixtures), the effective settings without secrets."""

from __future__ import annotations

import pytest

from ipynb_tools.console.config import ConsoleConfig
from ipynb_tools.console.launches import LaunchStore, seen_from_auth_state
from ipynb_tools.console.overview import course_overview, effective_settings
from ipynb_tools.lms.database import open_database
from tests.hub.hubrun import moodle_fields
from tests.lms.schema import COURSE, OTHER_COURSE, WWWROOT


@pytest.fixture
def store(tmp_path):
    with LaunchStore.open(str(tmp_path / "launches.sqlite")) as opened:
        seen = seen_from_auth_state(
            "tanaka", moodle_fields("tanaka", "Instructor", {"lms_teachers": "tanaka"}, course=str(COURSE)), at_us=5
        )
        assert seen is not None
        opened.record(seen)
        yield opened


def test_overview_with_the_lms_activities(site, store) -> None:  # type: ignore[no-untyped-def]
    config = ConsoleConfig(lms_db=site.url, timezone="Asia/Tokyo")
    overview = course_overview(
        store, config, str(COURSE), lambda: open_database(site.url, site.prefix, wwwroot=WWWROOT)
    )
    assert overview.course is not None and overview.course.title == "プログラミング演習"
    assert [a.resource_link_id for a in overview.activities] == ["7"]
    assert overview.lms_problem is None and overview.lms_activities is not None
    names = [a.name for a in overview.lms_activities]
    assert "課題1 (Jupyter)" in names
    assert "deleted one" not in names and "Other course hub" not in names  # being deleted; another course
    other = course_overview(store, config, str(OTHER_COURSE), lambda: open_database(site.url, site.prefix))
    assert other.course is None and [a.name for a in other.lms_activities or []] == ["Other course hub"]


def test_an_unreachable_lms_is_a_line_without_the_password(store) -> None:
    from ipynb_tools.lms.database import open_moodle

    url = "postgresql://moodle:Secret-pw-1@127.0.0.1:9/moodle"
    overview = course_overview(store, ConsoleConfig(lms_db=url), str(COURSE), lambda: open_moodle(db=url))
    assert overview.lms_problem and "Secret-pw-1" not in overview.lms_problem
    shown = {s.name: s.value for s in effective_settings(ConsoleConfig(lms_db=url, engine_url="ssh://root:pw@eng:22"))}
    assert shown["LMS adapter"] == "postgresql://127.0.0.1:9/moodle"
    assert shown["Container engine"] == "ssh://eng:22"
