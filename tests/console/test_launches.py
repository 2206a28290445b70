"""The launches store and the access rules (no hub, no browser): who teaches which course."""

from __future__ import annotations

import asyncio

import pytest

from ipynb_tools.console.access import AccessDenied, Viewer, require_course, require_user_action
from ipynb_tools.console.config import ConsoleConfig
from ipynb_tools.console.hubapi import HubUser
from ipynb_tools.console.launches import LaunchStore, seen_from_auth_state
from ipynb_tools.console.service import Console
from tests.hub.hubrun import moodle_fields


def auth_state(user: str, role: str, teachers: str, *, course: str, link: str = "7") -> dict[str, str]:
    """What jupyterhub-ltiauthenticator stores for an LTI 1.1 launch: the form fields without oauth_*."""
    return moodle_fields(user, role, {"lms_teachers": teachers}, course=course, link=link)


@pytest.fixture
def store(tmp_path):
    with LaunchStore.open(str(tmp_path / "launches.sqlite")) as opened:
        yield opened


def record(
    store: LaunchStore,
    user: str,
    role: str,
    teachers: str,
    *,
    course: str,
    link: str = "7",
    at: int = 1,
    by_lti_role: bool = False,
) -> None:
    seen = seen_from_auth_state(
        user, auth_state(user, role, teachers, course=course, link=link), by_lti_role=by_lti_role, at_us=at
    )
    assert seen is not None
    store.record(seen)


def test_lms_teachers_decides_by_default(store: LaunchStore) -> None:
    record(store, "tanaka", "Instructor", "tanaka", course="98")
    record(store, "suzuki", "Instructor", "tanaka", course="98")  # an Instructor not in lms_teachers
    record(store, "alice", "Learner", "tanaka", course="98")
    assert store.teaches("tanaka", "98")
    assert not store.teaches("suzuki", "98")
    assert not store.teaches("alice", "98")
    assert not store.teaches("tanaka", "99")
    assert [m.username for m in store.members("98") if m.teacher] == ["tanaka"]


def test_lti_role_rule_when_the_site_turns_it_on(store: LaunchStore) -> None:
    record(store, "suzuki", "urn:lti:role:ims/lis/Instructor", "tanaka", course="98", by_lti_role=True)
    record(store, "alice", "Learner", "tanaka", course="98", by_lti_role=True)
    assert store.teaches("suzuki", "98")
    assert not store.teaches("alice", "98")


def test_the_latest_launch_of_an_activity_decides(store: LaunchStore) -> None:
    record(store, "tanaka", "Instructor", "tanaka", course="98", at=1)
    record(store, "tanaka", "Instructor", "sato", course="98", at=2)  # removed from lms_teachers
    assert not store.teaches("tanaka", "98")
    record(store, "tanaka", "Instructor", "tanaka", course="98", link="8", at=3)  # teacher of another activity
    assert store.teaches("tanaka", "98")
    assert store.courses_taught("tanaka") == ["98"]


def test_courses_and_activities(store: LaunchStore) -> None:
    record(store, "tanaka", "Instructor", "tanaka", course="98", link="7", at=10)
    record(store, "alice", "Learner", "tanaka", course="98", link="7", at=20)
    record(store, "alice", "Learner", "tanaka", course="98", link="8", at=30)
    record(store, "bob", "Learner", "x", course="99", at=5)
    courses = store.courses()
    assert [c.course for c in courses] == ["98", "99"]
    assert (
        courses[0].title == "プログラミング演習" and courses[0].users == 2 and courses[0].host == "moodle.example.ac.jp"
    )
    activities = store.activities("98")
    assert [(a.resource_link_id, a.launches, a.users) for a in activities] == [("8", 1, 1), ("7", 2, 2)]
    assert activities[0].custom == {"lms_teachers": "tanaka"}
    assert store.courses(["99"])[0].course == "99"


def test_a_launch_without_a_course_is_not_recorded() -> None:
    state = auth_state("alice", "Learner", "", course="98")
    del state["context_id"]
    assert seen_from_auth_state("alice", state) is None


def test_access_rules() -> None:
    teacher = Viewer("tanaka", taught=frozenset({"98"}))
    student = Viewer("alice")
    admin = Viewer("root", admin=True)
    require_course(teacher, "98")
    require_course(admin, "99")
    for viewer, course in ((teacher, "99"), (student, "98"), (teacher, "../98"), (admin, "9 8")):
        with pytest.raises(AccessDenied) as refused:
            require_course(viewer, course)
        assert str(refused.value) == "You may not open this page."
    require_user_action(teacher, "98", "alice", {"alice", "tanaka"})
    with pytest.raises(AccessDenied):
        require_user_action(teacher, "98", "bob", {"alice"})  # not a member of course 98
    with pytest.raises(AccessDenied):
        require_user_action(student, "98", "bob", {"alice", "bob"})
    require_user_action(student, "98", "alice", set())  # one's own server
    assert admin.visible_courses({"98", "99"}) == ["98", "99"] and teacher.visible_courses({"98", "99"}) == ["98"]


class CountingHub:
    """The one hub API call :meth:`Console.viewer` makes, counted (a fast stand-in; the real hub is in test_users)."""

    def __init__(self, admins: set[str]) -> None:
        self.admins = admins
        self.calls = 0

    async def user(self, name: str) -> HubUser:
        self.calls += 1
        return HubUser(name=name, admin=name in self.admins, last_activity=None, servers={})


def test_a_new_launch_opens_its_course_at_once_while_the_admin_flag_is_cached(store: LaunchStore) -> None:
    hub = CountingHub(admins=set())
    console = Console(ConsoleConfig(), store=store, hub=hub)  # type: ignore[arg-type]
    record(store, "kato", "Instructor", "kato", course="299")
    first = asyncio.run(console.viewer("kato"))
    assert first.taught == {"299"} and not first.admin
    # kato launches a second course within the admin flag's cache time: its pages open at once
    record(store, "kato", "Instructor", "kato", course="97", at=2)
    second = asyncio.run(console.viewer("kato"))
    assert second.taught == {"97", "299"}
    assert hub.calls == 1  # the hub was asked once; the courses came from the store each time
    hub.admins.add("kato")
    assert not asyncio.run(console.viewer("kato")).admin  # cached for VIEWER_TTL seconds
    console.forget_viewers()
    assert asyncio.run(console.viewer("kato")).admin and hub.calls == 2
