"""The user's own page, "My server": status, "reset my server" (stop + delete through the hub API)."""

from __future__ import annotations

import asyncio

from tornado import web

from ..access import AccessDenied
from ..base import ConsoleHandler
from ..launches import LaunchSeen
from ..myserver import Found, my_server, reset_my_server, submissions_in_courses


class MyServerHandler(ConsoleHandler):
    """``<prefix>me``: GET shows the page; ``<prefix>me/reset`` POST resets the viewer's own server."""

    @web.authenticated
    async def get(self) -> None:
        viewer = await self.viewer()

        async def submissions(launches: list[LaunchSeen]) -> Found:
            return await asyncio.get_running_loop().run_in_executor(
                None, submissions_in_courses, self.console.engine, launches, viewer.name, self.console.course_host
            )

        page = await my_server(self.console.hub, self.console.store, viewer, submissions)
        self.render("myserver.html", page=page, done=self.get_query_argument("done", None))


class ResetHandler(ConsoleHandler):
    """POST ``<prefix>me/reset``: the viewer's own servers only (the form carries no user name)."""

    @web.authenticated
    async def post(self) -> None:
        viewer = await self.viewer()
        try:
            await reset_my_server(self.console.hub, viewer, viewer.name)
        except AccessDenied:
            raise web.HTTPError(403) from None
        self.console.forget_viewers()
        self.redirect(self.url("me?done=reset"))


HANDLERS: list[tuple[str, type]] = [("me", MyServerHandler), ("me/reset", ResetHandler)]
