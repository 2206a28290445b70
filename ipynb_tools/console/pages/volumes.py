"""The Volumes tab of a course (SPEC 11): task and submit volumes, delete with confirmation, stop users first."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from tornado import web

from ...errors import IpynbToolsError
from ..access import AccessDenied, require_user_action
from ..base import ConsoleHandler
from ..hubapi import HubAPIError
from ..volumes import NoSuchVolume, VolumeBusy, course_volumes, delete_volume, find_volume
from .overview import COURSE

T = TypeVar("T")


class VolumesBase(ConsoleHandler):
    tab = "volumes"

    async def blocking(self, work: Callable[..., T], *args: Any) -> T:
        """Run an engine call (the Docker SDK blocks) in a thread."""
        return await asyncio.get_running_loop().run_in_executor(None, work, *args)

    def host(self, course: str) -> str | None:
        return self.console.course_host(course)

    def problem_page(self, course: str, problem: str, status: int = 200) -> None:
        self.set_status(status)
        self.render("volumes.html", course=course, volumes=[], problem=problem, done=None)


class VolumesHandler(VolumesBase):
    """GET ``<prefix>course/<id>/volumes``."""

    @web.authenticated
    async def get(self, course: str) -> None:
        await self.require_course(course)
        host = self.host(course)
        if host is None:
            return self.problem_page(course, self.gettext("No LMS host is known for this course yet (no launch)."))
        try:
            rows = await self.blocking(course_volumes, self.console.engine(), course, host)
        except IpynbToolsError as exc:
            return self.problem_page(course, str(exc))
        self.render(
            "volumes.html",
            course=course,
            volumes=rows,
            problem=None,
            done=self.get_query_argument("done", None),
        )


class DeleteHandler(VolumesBase):
    """GET ``.../volumes/delete?volume=FULL``: the confirmation page; POST (``volume``): delete it."""

    async def confirm(self, course: str, full_name: str, problem: str | None = None, status: int = 200) -> None:
        host = self.host(course)
        if host is None:
            raise web.HTTPError(404)
        try:
            row = await self.blocking(find_volume, self.console.engine(), course, host, full_name)
        except NoSuchVolume:
            raise web.HTTPError(404) from None
        except IpynbToolsError as exc:
            return self.problem_page(course, str(exc))
        self.set_status(status)
        self.render("volume_delete.html", course=course, volume=row, problem=problem)

    @web.authenticated
    async def get(self, course: str) -> None:
        await self.require_course(course)
        await self.confirm(course, self.get_query_argument("volume", ""))

    @web.authenticated
    async def post(self, course: str) -> None:
        await self.require_course(course)
        full_name = self.get_body_argument("volume", "")
        host = self.host(course)
        if host is None:
            raise web.HTTPError(404)
        try:
            await self.blocking(delete_volume, self.console.engine(), course, host, full_name)
        except NoSuchVolume:
            raise web.HTTPError(404) from None
        except VolumeBusy:
            return await self.confirm(course, full_name, self.gettext("A running server uses this volume."), 409)
        except IpynbToolsError as exc:
            return self.problem_page(course, str(exc))
        self.redirect(self.url(f"course/{course}/volumes?") + urlencode({"done": full_name}))


class StopUsersHandler(VolumesBase):
    """POST ``.../volumes/stop`` (``volume``): stop the servers of the users whose running containers use it."""

    @web.authenticated
    async def post(self, course: str) -> None:
        viewer = await self.require_course(course)
        full_name = self.get_body_argument("volume", "")
        host = self.host(course)
        if host is None:
            raise web.HTTPError(404)
        try:
            row = await self.blocking(find_volume, self.console.engine(), course, host, full_name)
        except NoSuchVolume:
            raise web.HTTPError(404) from None
        except IpynbToolsError as exc:
            return self.problem_page(course, str(exc))
        members = {m.username for m in self.console.store.members(course)}
        try:
            for user in row.running_users:
                require_user_action(viewer, course, user, members)
        except AccessDenied:
            raise web.HTTPError(403) from None
        try:
            for user in row.running_users:
                found = await self.console.hub.user(user)
                for server in found.servers.values() if found else ():
                    if server.running:
                        await self.console.hub.stop_server(user, server.name)
        except HubAPIError as exc:
            self.log.error("console: stopping the users of %s: %s", full_name, exc)
            raise web.HTTPError(503) from None
        self.redirect(self.url(f"course/{course}/volumes/delete?") + urlencode({"volume": full_name, "stopped": "1"}))


HANDLERS: list[tuple[str, type]] = [
    (COURSE + "/volumes", VolumesHandler),
    (COURSE + "/volumes/delete", DeleteHandler),
    (COURSE + "/volumes/stop", StopUsersHandler),
]
TABS = ["volumes"]
