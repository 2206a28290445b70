"""The Users tab of a course (SPEC 11): the course's users on the hub; stop a server, delete a user's servers."""

from __future__ import annotations

from urllib.parse import urlencode

from tornado import web

from ..access import AccessDenied, require_user_action
from ..base import ConsoleHandler
from ..hubapi import HubAPIError
from ..users import course_users, parse_query, table_page
from .overview import COURSE

#: What the action form may ask for.
ACTIONS = ("stop", "delete")


class UsersHandler(ConsoleHandler):
    """GET ``<prefix>course/<id>/users``: the table (``sort``, ``order``, ``filter``, ``show``, ``page``)."""

    tab = "users"

    @web.authenticated
    async def get(self, course: str) -> None:
        await self.require_course(course)
        try:
            hub_users = await self.console.hub.users()
        except HubAPIError as exc:
            self.log.error("console: users of %s: %s", course, exc)
            raise web.HTTPError(503) from None
        rows = course_users(self.console.store.members(course), hub_users)
        args = {
            name: self.get_query_argument(name, None)
            for name in ("sort", "order", "filter", "show", "page", "per_page")
        }
        page = table_page(rows, parse_query(args, per_page=self.console.config.page_size))
        self.render(
            "users.html",
            course=course,
            table=page,
            link=lambda **changes: "?" + urlencode(page.query.to_args(**changes)),
            done=self.get_query_argument("done", None),
            done_user=self.get_query_argument("user", None),
        )


class UserActionHandler(ConsoleHandler):
    """POST ``<prefix>course/<id>/users/action``: ``user``, ``action`` = stop (every running server) or
    delete (stop and delete the named servers); only for the course's users (access.py)."""

    @web.authenticated
    async def post(self, course: str) -> None:
        viewer = await self.require_course(course)
        user = self.get_body_argument("user", "")
        action = self.get_body_argument("action", "")
        if action not in ACTIONS:
            raise web.HTTPError(400)
        members = {m.username for m in self.console.store.members(course)}
        try:
            require_user_action(viewer, course, user, members)
        except AccessDenied:
            raise web.HTTPError(403) from None
        try:
            if action == "delete":
                await self.console.hub.reset_servers(user)
            else:
                found = await self.console.hub.user(user)
                for server in found.servers.values() if found else ():
                    if server.running:
                        await self.console.hub.stop_server(user, server.name)
        except HubAPIError as exc:
            self.log.error("console: %s %s's server: %s", action, user, exc)
            raise web.HTTPError(503) from None
        back = self.get_body_argument("back", "")
        # only this page's own query, and nothing a Location header refuses (any control character: a 500)
        query = back if back.startswith("?") and back.isascii() and back.isprintable() else "?"
        separator = "&" if len(query) > 1 else ""
        self.redirect(
            self.url(f"course/{course}/users") + query + separator + urlencode({"done": action, "user": user})
        )


HANDLERS: list[tuple[str, type]] = [
    (COURSE + "/users", UsersHandler),
    (COURSE + "/users/action", UserActionHandler),
]
TABS = ["users"]
