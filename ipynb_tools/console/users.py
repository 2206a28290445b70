"""The data of the Users page (issue 15; SPEC 11 "JupyterHub users"): the course's users joined with the hub.

The course's users are those who launched from it (the launches store); each is joined with the
hub's user list: a server running or not, last activity, hub admin. The table is sorted, filtered
and paginated here, on the server (:func:`table_page`), from the query the page was asked with
(:func:`parse_query`; anything it does not understand falls back to the default, never an error).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .hubapi import HubUser
from .launches import MemberSeen

#: The columns the table sorts by.
SORT_KEYS = ("name", "role", "server", "last_activity", "last_launch")
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500
#: The ``show`` choices: everyone, those with a server running, those without.
SHOW = ("all", "running", "stopped")


@dataclass(frozen=True)
class UserRow:
    """One user of the course: name, teacher of it, hub admin, known to the hub, a server running,
    the names of their servers (``""`` = default), last activity on the hub, last launch (UTC µs)."""

    name: str
    teacher: bool
    admin: bool
    known_to_hub: bool
    running: bool
    servers: tuple[str, ...]
    last_activity: datetime | None
    last_launch_us: int


@dataclass(frozen=True)
class TableQuery:
    """How the table is asked for: sort column, descending, name filter, running filter, page (1-based)."""

    sort: str = "name"
    descending: bool = False
    filter: str = ""
    show: str = "all"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    def to_args(self, **changes: Any) -> dict[str, str]:
        """The query string arguments of this query with ``changes`` (for links)."""
        values = {
            "sort": self.sort,
            "order": "desc" if self.descending else "asc",
            "filter": self.filter,
            "show": self.show,
            "page": str(self.page),
            "per_page": str(self.per_page),
        }
        values.update({k: str(v) for k, v in changes.items()})
        return {k: v for k, v in values.items() if v != ""}


@dataclass(frozen=True)
class TablePage:
    """One page of rows: the rows, how many matched the filter, the page number and the page count."""

    rows: Sequence[UserRow]
    total: int
    page: int
    pages: int
    query: TableQuery


def course_users(members: Iterable[MemberSeen], hub_users: Iterable[HubUser]) -> list[UserRow]:
    """The course's members joined with the hub's users (a member the hub no longer knows is kept, marked)."""
    by_name = {user.name: user for user in hub_users}
    rows = []
    for member in members:
        user = by_name.get(member.username)
        rows.append(
            UserRow(
                name=member.username,
                teacher=member.teacher,
                admin=bool(user and user.admin),
                known_to_hub=user is not None,
                running=bool(user and user.running),
                servers=tuple(sorted(s.name for s in user.servers.values() if s.running)) if user else (),
                last_activity=user.last_activity if user else None,
                last_launch_us=member.last_us,
            )
        )
    return rows


def _integer(text: str | None, default: int, low: int, high: int) -> int:
    try:
        value = int(text or "")
    except ValueError:
        return default
    return min(max(value, low), high)


def parse_query(args: Mapping[str, str | None], *, per_page: int = DEFAULT_PER_PAGE) -> TableQuery:
    """The table query from the page's arguments; unknown or malformed values give the defaults."""
    sort = args.get("sort") or "name"
    show = args.get("show") or "all"
    return TableQuery(
        sort=sort if sort in SORT_KEYS else "name",
        descending=args.get("order") == "desc",
        filter=(args.get("filter") or "").strip()[:100],
        show=show if show in SHOW else "all",
        page=_integer(args.get("page"), 1, 1, 1_000_000),
        per_page=_integer(args.get("per_page"), per_page, 1, MAX_PER_PAGE),
    )


_EPOCH = datetime.fromtimestamp(0, tz=UTC)


def _sort_key(sort: str) -> Any:
    if sort == "role":
        return lambda r: (not r.admin, not r.teacher, r.name)
    if sort == "server":
        return lambda r: (not r.running, r.name)
    if sort == "last_activity":
        return lambda r: (r.last_activity or _EPOCH, r.name)
    if sort == "last_launch":
        return lambda r: (r.last_launch_us, r.name)
    return lambda r: r.name


def table_page(rows: Iterable[UserRow], query: TableQuery) -> TablePage:
    """Filter (name contains the filter text, case-insensitive; running/stopped), sort, and cut one page.

    A page past the end gives the last page.
    """
    needle = query.filter.casefold()
    chosen = [
        r
        for r in rows
        if needle in r.name.casefold() and (query.show == "all" or (query.show == "running") == r.running)
    ]
    chosen.sort(key=_sort_key(query.sort), reverse=query.descending)
    pages = max(1, math.ceil(len(chosen) / query.per_page))
    page = min(query.page, pages)
    start = (page - 1) * query.per_page
    return TablePage(chosen[start : start + query.per_page], len(chosen), page, pages, query)
