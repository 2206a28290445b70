"""Who may do what in the console: THE one home of these rules (issue 15; SPEC 11's capabilities).

- A hub admin (JupyterHub's ``admin`` flag, read with the console's token from the hub API, never
  from what the browser sends) sees every course and may do everything.
- A teacher of a course sees that course's pages and acts on them: the course's volumes, and the
  servers of the course's users (users who launched from it). Who teaches: the teacher rule of the
  launch (:func:`ipynb_tools.launch.teacher_rule`: ``lms_teachers``, or the LTI instructor role
  where the site turned ``teachers_by_lti_role`` on), as recorded in the launches store
  (:meth:`ipynb_tools.console.launches.LaunchStore.teaches`).
- Everyone who is logged in has their own page ("my server": status, reset, submissions); a
  student has nothing else.

A course the viewer may not see gives the same 403 page whether it exists or not
(:data:`COURSE_REFUSED`): the answer reveals nothing about other courses.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from ..errors import IpynbToolsError
from ..i18n import N_
from ..volumes.naming import COURSE_RE


class AccessDenied(IpynbToolsError):
    """The viewer may not do this; the edge answers 403 with a page that says nothing more."""


#: The one message of every refusal (the page shows only this, translated).
COURSE_REFUSED = N_("You may not open this page.")


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the hub user name, hub admin or not, the course ids they teach."""

    name: str
    admin: bool = False
    taught: frozenset[str] = field(default_factory=frozenset)

    @property
    def role(self) -> str:
        """``admin``, ``teacher`` (of some course) or ``student``: for the page header only, never a check."""
        if self.admin:
            return "admin"
        return "teacher" if self.taught else "student"

    def may_see_course(self, course: str) -> bool:
        """A hub admin, or a teacher of ``course``; a malformed course id is no course at all."""
        if not isinstance(course, str) or not COURSE_RE.fullmatch(course):
            return False
        return self.admin or course in self.taught

    def visible_courses(self, known: Collection[str]) -> list[str]:
        """The course ids of ``known`` this viewer sees (admin: all of them), sorted."""
        return sorted(c for c in known if self.may_see_course(c))

    def may_act_on_user(self, course: str, user: str, members: Collection[str]) -> bool:
        """Stop or delete ``user``'s server from ``course``'s Users page: a hub admin, or a teacher of the
        course when ``user`` is one of the course's ``members`` (launched from it); anyone for themself."""
        if user == self.name:
            return True
        return self.may_see_course(course) and (self.admin or user in members)

    def may_reset(self, user: str) -> bool:
        """ "Reset my server": only one's own (a teacher resets others from the Users page)."""
        return user == self.name


def require_course(viewer: Viewer, course: str) -> None:
    """Raise :class:`AccessDenied` unless ``viewer`` may see ``course``'s pages."""
    if not viewer.may_see_course(course):
        raise AccessDenied(COURSE_REFUSED)


def require_user_action(viewer: Viewer, course: str, user: str, members: Collection[str]) -> None:
    """Raise :class:`AccessDenied` unless ``viewer`` may stop/delete ``user``'s server from ``course``."""
    if not viewer.may_act_on_user(course, user, members):
        raise AccessDenied(COURSE_REFUSED)
