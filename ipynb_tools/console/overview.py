"""The data of the Overview page and of the course list (issue 15; SPEC 11 "Overview").

A course as the launches show it, its LTI activities (from the launches; from the LMS adapter too
when it is configured), and the effective settings: what the site configured, with no secret in it
(no token, no password, no user part of a URL).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..errors import IpynbToolsError
from ..i18n import N_
from .access import Viewer
from .config import ConsoleConfig
from .launches import ActivitySeen, CourseSeen, LaunchStore

if TYPE_CHECKING:
    from ..lms.database import MoodleDatabase


@dataclass(frozen=True)
class LmsActivity:
    """An LTI activity as the LMS lists it (the adapter's ``activities``): id, name, ours, hidden."""

    lti_id: int
    name: str
    ours: bool | None
    hidden: bool = False


@dataclass(frozen=True)
class Setting:
    """One effective setting: a message id for its name and its value; ``words`` when the value is a
    message id too (translated by the page), else a value shown as it is (a URL, a zone name)."""

    name: str
    value: str
    words: bool = False


@dataclass(frozen=True)
class Overview:
    """The Overview page: the course, its activities seen and in the LMS, the settings, an LMS problem."""

    course: CourseSeen | None
    course_id: str
    activities: Sequence[ActivitySeen]
    lms_activities: Sequence[LmsActivity] | None
    settings: Sequence[Setting] = field(default_factory=list)
    lms_problem: str | None = None


def shown_url(url: str) -> str:
    """A URL without its user, password, query and fragment (``ssh://root@h`` -> ``ssh://h``); a path as is."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def effective_settings(config: ConsoleConfig) -> list[Setting]:
    """The site's settings as the Overview shows them (no secrets)."""

    def given(name: str, value: str, otherwise: str) -> Setting:
        return Setting(name, value) if value else Setting(name, otherwise, words=True)

    lms = shown_url(config.lms_db) if config.lms_db else config.moodle_config
    teachers = (
        Setting(N_("Teachers"), "lms_teachers + LTI " + ", ".join(config.teacher_roles))
        if config.teachers_by_lti_role
        else Setting(N_("Teachers"), "lms_teachers")
    )
    return [
        Setting(N_("Time zone"), str(config.zone)),
        given(N_("LMS adapter"), lms, N_("not configured")),
        given(N_("LMS host in volume names"), config.lms_host, N_("from the launches")),
        given(N_("Container engine"), shown_url(config.engine_url), N_("DOCKER_HOST or the local socket")),
        given(N_("Image filter"), config.image_filter, N_("none")),
        teachers,
        given(N_("Execution-log database"), shown_url(config.db), N_("not configured")),
    ]


def lms_activities(moodle: MoodleDatabase, course: str, config: ConsoleConfig) -> list[LmsActivity]:
    """The course's LTI activities from the LMS adapter (``moodle`` open), as the Connections page lists
    them (:func:`ipynb_tools.console.editing.connections`: this hub's when the console knows its launch
    URLs or domains, else every LTI tool's; hidden ones marked), in course order."""
    from .editing import LmsSite, connections

    if not course.isdigit():
        return []
    found = connections(moodle, int(course), LmsSite.from_config(config, moodle.wwwroot))
    return [LmsActivity(a.lti_id, a.name, a.ours, a.hidden) for a in found]


def course_overview(
    store: LaunchStore,
    config: ConsoleConfig,
    course: str,
    open_moodle: Callable[[], MoodleDatabase] | None = None,
) -> Overview:
    """The Overview of ``course``; with ``open_moodle`` (the LMS adapter configured) also the LMS's activities.

    An LMS that cannot be opened or read is a line on the page (``lms_problem``: the adapter's
    one-line message, which never holds the password), not an error page.
    """
    listed: list[LmsActivity] | None = None
    problem = None
    if open_moodle is not None:
        try:
            with open_moodle() as moodle:
                listed = lms_activities(moodle, course, config)
        except IpynbToolsError as exc:
            problem = str(exc)
    return Overview(store.course(course), course, store.activities(course), listed, effective_settings(config), problem)


def visible_courses(store: LaunchStore, viewer: Viewer) -> list[CourseSeen]:
    """The courses the viewer sees (admin: every course seen; teacher: theirs), newest first."""
    if viewer.admin:
        return store.courses()
    return store.courses(viewer.taught)
