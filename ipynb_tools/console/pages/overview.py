"""The Overview tab of a course (SPEC 11): the course, its LTI activities, the effective settings."""

from __future__ import annotations

from tornado import web

from ..base import ConsoleHandler
from ..overview import course_overview

#: A course id in a URL (checked again by the access rule: anything else is refused the same way).
COURSE = r"course/([^/]+)"


class OverviewHandler(ConsoleHandler):
    """``<prefix>course/<id>/``."""

    tab = "overview"

    @web.authenticated
    async def get(self, course: str) -> None:
        await self.require_course(course)
        moodle = None
        if self.console.config.has_lms:
            moodle = self.console.moodle()
        try:
            overview = course_overview(self.console.store, self.console.config, course, moodle)
        finally:
            if moodle is not None:
                moodle.close()
        self.render("overview.html", course=course, overview=overview)


HANDLERS: list[tuple[str, type]] = [(COURSE + "/?", OverviewHandler)]
TABS = ["overview"]
