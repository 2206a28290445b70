"""The data of a user's own page, "My server" (issue 15): their servers on the hub and "reset my server".

Every user has this page (a student has only this one). Reset stops every server of the user and
deletes their named servers, through the hub API with the console's token (:meth:`HubAPI.reset_servers`);
the access rule (only one's own) is :meth:`ipynb_tools.console.access.Viewer.may_reset`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .access import COURSE_REFUSED, AccessDenied, Viewer
from .hubapi import HubAPI, HubServer
from .launches import LaunchSeen, LaunchStore


@dataclass(frozen=True)
class MyServer:
    """The page: the user's servers on the hub (none when the hub has none), their latest launches."""

    name: str
    known_to_hub: bool
    servers: Sequence[HubServer]
    launches: Sequence[LaunchSeen]

    @property
    def running(self) -> bool:
        return any(s.running for s in self.servers)


async def my_server(hub: HubAPI, store: LaunchStore, viewer: Viewer) -> MyServer:
    """What the viewer's own page shows."""
    user = await hub.user(viewer.name)
    servers = sorted(user.servers.values(), key=lambda s: s.name) if user else []
    return MyServer(viewer.name, user is not None, servers, store.latest(username=viewer.name))


async def reset_my_server(hub: HubAPI, viewer: Viewer, user: str) -> list[str]:
    """Stop every server of ``user`` and delete the named ones, when ``viewer`` is ``user``; the servers done.

    Raises :class:`AccessDenied` for anyone else's server.
    """
    if not viewer.may_reset(user):
        raise AccessDenied(COURSE_REFUSED)
    return await hub.reset_servers(user)
