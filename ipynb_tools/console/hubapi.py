"""The hub's REST API as the console uses it, with the console service's own token (issue 15).

JupyterHub's REST API (https://jupyterhub.readthedocs.io/en/stable/reference/rest-api.html) through
tornado's ``AsyncHTTPClient``: list users with their servers and last activity, read one user (is
they a hub admin), stop a server, delete a named server. The token needs the scopes ``list:users``,
``read:users``, ``read:servers`` and ``servers`` (docs/console.md). The token is sent only in the
``Authorization`` header, never logged, never part of an error message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from ..errors import IpynbToolsError

#: Users per request when listing (the hub's page size limit is 200 by default).
PAGE = 200
#: The hub's paginated form of list replies (items + _pagination.next).
PAGINATED = "application/jupyterhub-pagination+json"


class HubAPIError(IpynbToolsError):
    """A hub API call failed: the method, the path and the hub's reason (never the token)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time of the hub's API (``2026-11-30T18:00:00.123456Z``) as an aware datetime, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True)
class HubServer:
    """One server of a hub user: name (``""`` = the default server), ready, pending action, times."""

    name: str
    ready: bool
    pending: str | None
    started: datetime | None
    last_activity: datetime | None
    url: str | None = None

    @property
    def running(self) -> bool:
        """Ready or on its way (starting); a stopped named server is not running."""
        return self.ready or self.pending == "spawn"


@dataclass(frozen=True)
class HubUser:
    """A hub user: name, hub admin, last activity, servers (name -> :class:`HubServer`, only running ones
    unless the hub was asked for stopped servers too)."""

    name: str
    admin: bool
    last_activity: datetime | None
    servers: Mapping[str, HubServer] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        """Some server of this user is running or starting."""
        return any(server.running for server in self.servers.values())


def user_from_model(model: Mapping[str, Any]) -> HubUser:
    """A :class:`HubUser` from the hub's user model (JSON)."""
    servers = {}
    raw_servers = model.get("servers") or {}
    if isinstance(raw_servers, Mapping):
        for name, raw in raw_servers.items():
            if isinstance(raw, Mapping):
                servers[str(name)] = HubServer(
                    str(name),
                    bool(raw.get("ready")),
                    raw.get("pending") if isinstance(raw.get("pending"), str) else None,
                    parse_time(raw.get("started")),
                    parse_time(raw.get("last_activity")),
                    raw.get("url") if isinstance(raw.get("url"), str) else None,
                )
    return HubUser(str(model.get("name")), bool(model.get("admin")), parse_time(model.get("last_activity")), servers)


class HubAPI:
    """A client of the hub's REST API at ``api_url`` (``http://127.0.0.1:8081/hub/api``) with ``token``."""

    def __init__(self, api_url: str, token: str, *, timeout: float = 30) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"HubAPI({self.api_url!r})"

    async def call(self, method: str, path: str, body: Any = None, *, accept: str = "application/json") -> Any:
        """One API call; the decoded JSON reply (None for an empty one).

        Raises :class:`HubAPIError` (with the status when the hub answered).
        """
        request = HTTPRequest(
            f"{self.api_url}/{path.lstrip('/')}",
            method=method,
            headers={"Authorization": f"token {self._token}", "Accept": accept},
            body=None if body is None and method in ("GET", "HEAD") else json.dumps(body or {}),
            allow_nonstandard_methods=True,
            request_timeout=self.timeout,
        )
        try:
            reply = await AsyncHTTPClient().fetch(request)
        except HTTPClientError as exc:
            reason = ""
            if exc.response is not None and exc.response.body:
                try:
                    reason = str(json.loads(exc.response.body).get("message") or "")
                except (ValueError, AttributeError):
                    reason = ""
            raise HubAPIError(
                f"hub API {method} {path}: {exc.code} {reason or exc.message or ''}".rstrip(), exc.code
            ) from None
        except OSError as exc:
            raise HubAPIError(f"hub API {method} {path}: cannot reach the hub at {self.api_url} ({exc})") from None
        if not reply.body:
            return None
        return json.loads(reply.body)

    async def users(self) -> list[HubUser]:
        """Every hub user with their servers (stopped named servers too), in the hub's order."""
        result: list[HubUser] = []
        offset = 0
        while True:
            page = await self.call(
                "GET", f"users?include_stopped_servers=1&offset={offset}&limit={PAGE}", accept=PAGINATED
            )
            items = page.get("items", []) if isinstance(page, Mapping) else page or []
            result.extend(user_from_model(item) for item in items if isinstance(item, Mapping))
            following = (page.get("_pagination") or {}).get("next") if isinstance(page, Mapping) else None
            if not items or not following:
                return result
            offset = int(following.get("offset", offset + len(items)))

    async def user(self, name: str) -> HubUser | None:
        """One hub user, or None when the hub does not know them."""
        try:
            model = await self.call("GET", f"users/{quote(name, safe='')}?include_stopped_servers=1")
        except HubAPIError as exc:
            if exc.status == 404:
                return None
            raise
        return user_from_model(model)

    async def stop_server(self, name: str, server: str = "") -> None:
        """Stop a user's server (``""``: the default server); a server already stopped is fine."""
        path = f"users/{quote(name, safe='')}/server" if not server else self._named(name, server)
        try:
            await self.call("DELETE", path)
        except HubAPIError as exc:
            if exc.status not in (400, 404):  # 400: not running
                raise

    async def delete_server(self, name: str, server: str) -> None:
        """Stop and delete a named server of a user (its record in the hub, ``remove: true``)."""
        await self.call("DELETE", self._named(name, server), {"remove": True})

    async def reset_servers(self, name: str) -> list[str]:
        """Stop every server of ``name`` and delete the named ones: "reset my server". The names done
        (``""`` is the default server); nothing to do gives []."""
        user = await self.user(name)
        if user is None:
            return []
        done = []
        for server in user.servers.values():
            if server.name:
                await self.delete_server(name, server.name)
            elif server.running:
                await self.stop_server(name)
            else:
                continue
            done.append(server.name)
        return done

    @staticmethod
    def _named(name: str, server: str) -> str:
        return f"users/{quote(name, safe='')}/servers/{quote(server, safe='')}"
