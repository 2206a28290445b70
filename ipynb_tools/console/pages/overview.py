"""The Overview tab of a course (SPEC 11): the course, its LTI activities, the effective settings."""

from __future__ import annotations

import asyncio

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
        open_moodle = self.console.moodle if self.console.config.has_lms else None
        overview = await asyncio.get_running_loop().run_in_executor(
            None, course_overview, self.console.store, self.console.config, course, open_moodle
        )
        self.render("overview.html", course=course, overview=overview)


HANDLERS: list[tuple[str, type]] = [(COURSE + "/?", OverviewHandler)]
TABS = ["overview"]
