"""The console's start page: the courses the viewer sees (a hub admin: all), and their own page."""

from __future__ import annotations

from tornado import web

from ..base import ConsoleHandler
from ..overview import visible_courses


class HomeHandler(ConsoleHandler):
    """``<prefix>``: the course list; a student (no course) sees the link to their own page."""

    @web.authenticated
    async def get(self) -> None:
        viewer = await self.viewer()
        self.render("home.html", courses=visible_courses(self.console.store, viewer))


HANDLERS: list[tuple[str, type]] = [("", HomeHandler)]
