"""Figures of the execution log, computed by the database (SQL aggregation; rows are never all loaded).

An *execution* is a server record joined to its client record by (session, message) (SPEC 9): a
server record without one still counts, under its own status (``ok`` when it starts with ``ok``;
everything else is an error, as the old module counted ``error``, ``aborted`` and ``*/nc``). Its
numbered cell is the client record's ``codenum`` or, when that record had no numbering tags, the
latest numbering recorded for the same cell id (the old ``tags`` table). Its notebook is the
``filename:`` tag (the deployed name) or else the kernel session's path. Its course is the
session's course or, for the old proxy's sessions (LTI id only), the course the spawner recorded
for that LTI id.

:func:`stats` gives the totals, per numbered cell and per user; :func:`progress` the per-user
series of the progress chart (codenum over time, a new segment after a gap longer than
``gap_seconds``, default 30 minutes as in the old module), in a time zone (default the site's,
by the contract's one rule: ``$IPYNB_TOOLS_TIMEZONE``, else UTC;
:func:`ipynb_tools.environ.closing.site_timezone`).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, and_, case, func, literal, null, or_, select
from sqlalchemy.exc import SQLAlchemyError

from ..environ.closing import site_timezone
from ..environ.variables import EnvironmentContractError
from ..errors import UsageError
from .records import parse_date
from .store import Store, StoreError, activities, client_records, server_records, sessions

#: A gap longer than this starts a new segment of a user's progress line (the old module's 1,800 s).
DEFAULT_GAP_SECONDS = 30 * 60


@dataclass(frozen=True)
class Filters:
    """Which executions count: all given criteria must hold. Times are aware datetimes (any zone).

    ``users``: only these users (a page of a chart's users: the console's progress chart asks for
    the lines of one page, not every user's points).
    """

    course: str | None = None
    lti: str | None = None
    user: str | None = None
    notebook: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    users: tuple[str, ...] | None = None


@dataclass
class Stats:
    """The figures of ``logs stats`` (keys of :meth:`to_json` are the command's JSON keys)."""

    executions: int
    ok: int
    error: int
    users: int
    per_codenum: list[dict[str, Any]] = field(default_factory=list)
    per_user: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "executions": self.executions,
            "ok": self.ok,
            "error": self.error,
            "users": self.users,
            "per_codenum": self.per_codenum,
            "per_user": self.per_user,
        }


def timezone(name: str | None) -> dt.tzinfo:
    """The zone called ``name`` (IANA, e.g. ``Asia/Tokyo``, or ``UTC``); ``None``: the site's
    (``$IPYNB_TOOLS_TIMEZONE``, else UTC: :func:`ipynb_tools.environ.closing.site_timezone`, the
    one rule for closing times, the console and the charts alike).

    Raises :class:`UsageError` for an unknown zone.
    """
    if name is None:
        try:
            return site_timezone()
        except EnvironmentContractError as exc:
            raise UsageError(str(exc)) from None
    if name.upper() == "UTC":
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"unknown time zone {name!r} (give an IANA name such as Asia/Tokyo)") from None


def parse_time(text: str, zone: dt.tzinfo) -> dt.datetime:
    """ISO 8601 date or date-time; without an offset it is in ``zone``. Raises :class:`UsageError`."""
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"time {text!r} is not an ISO 8601 date or date-time (e.g. 2024-04-17T09:00)") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=zone)


def _us(when: dt.datetime) -> int:
    value = parse_date(when.astimezone(dt.UTC).isoformat())
    assert value is not None
    return value


def executions(filters: Filters = Filters(), *, cells: bool = True) -> Select[Any]:
    """The executions as a SELECT (columns ``username, ok, date_us, notebook, codenum, course, lti_id``).

    Only the joins a question needs are made: without ``cells`` (and no notebook filter) the client
    records are not joined (``notebook``/``codenum`` are NULL); without a course or LTI filter the
    sessions are not (``course``/``lti_id`` are NULL). The counts are the same either way: every
    execution is one server record.
    """
    s, c = server_records, client_records
    c2 = client_records.alias("numbered")
    latest = (
        select(c2.c.codenum, c2.c.filename)
        .where(c2.c.cell_id == c.c.cell_id, c2.c.codenum.is_not(None))
        .order_by(c2.c.date_us.desc(), c2.c.id.desc())
        .limit(1)
    )
    codenum = func.coalesce(c.c.codenum, latest.with_only_columns(c2.c.codenum).scalar_subquery())
    filename = func.coalesce(c.c.filename, latest.with_only_columns(c2.c.filename).scalar_subquery())
    notebook = func.coalesce(filename, c.c.notebook)
    course = func.coalesce(sessions.c.course, activities.c.course)
    ok = case((s.c.status.like("ok%"), 1), else_=0)
    join_cells = cells or filters.notebook is not None
    join_sessions = cells or filters.course is not None or filters.lti is not None
    source: Any = s
    if join_cells:
        source = source.outerjoin(c, and_(c.c.session == s.c.session, c.c.message == s.c.message))
    if join_sessions:
        source = source.outerjoin(sessions, sessions.c.session == s.c.session).outerjoin(
            activities, activities.c.lti_id == sessions.c.lti_id
        )
    query = select(
        s.c.username.label("username"),
        ok.label("ok"),
        s.c.date_us.label("date_us"),
        (notebook if join_cells else null()).label("notebook"),
        (codenum if join_cells else null()).label("codenum"),
        (course if join_sessions else null()).label("course"),
        (sessions.c.lti_id if join_sessions else null()).label("lti_id"),
    ).select_from(source)
    if filters.course is not None:
        query = query.where(course == filters.course)
    if filters.lti is not None:
        query = query.where(sessions.c.lti_id == filters.lti)
    if filters.user is not None:
        query = query.where(s.c.username == filters.user)
    if filters.users is not None:
        query = query.where(s.c.username.in_(filters.users))
    if filters.notebook is not None:
        query = query.where(or_(notebook == filters.notebook, c.c.notebook == filters.notebook))
    if filters.since is not None:
        query = query.where(s.c.date_us >= _us(filters.since))
    if filters.until is not None:
        query = query.where(s.c.date_us < _us(filters.until))
    return query


def totals_query(filters: Filters = Filters()) -> Select[Any]:
    """(executions, ok, users) of the filtered executions."""
    e = executions(filters, cells=False).subquery("e")
    return select(func.count(), func.coalesce(func.sum(e.c.ok), 0), func.count(e.c.username.distinct()))


def per_codenum_query(filters: Filters = Filters()) -> Select[Any]:
    """(notebook, codenum, ok, error) per numbered cell, in notebook and codenum order (unnumbered last)."""
    e = executions(filters).subquery("e")
    ok = func.sum(e.c.ok)
    return (
        select(e.c.notebook, e.c.codenum, ok.label("ok"), (func.count() - ok).label("error"))
        .group_by(e.c.notebook, e.c.codenum)
        .order_by(e.c.notebook.is_(None), e.c.notebook, e.c.codenum.is_(None), e.c.codenum)
    )


def per_user_query(filters: Filters = Filters()) -> Select[Any]:
    """(user, ok, error) per user, by user name."""
    e = executions(filters, cells=False).subquery("e")
    ok = func.sum(e.c.ok)
    return (
        select(e.c.username, ok.label("ok"), (func.count() - ok).label("error"))
        .group_by(e.c.username)
        .order_by(e.c.username.is_(None), e.c.username)
    )


def progress_query(filters: Filters = Filters(), gap_seconds: float = DEFAULT_GAP_SECONDS) -> Select[Any]:
    """(user, date_us, codenum, breaks) of dated, numbered executions; ``breaks`` is 1 after a long gap."""
    e = executions(filters).subquery("e")
    previous = func.lag(e.c.date_us).over(partition_by=e.c.username, order_by=(e.c.date_us, e.c.codenum))
    gap = literal(int(gap_seconds * 1_000_000))
    breaks = case((e.c.date_us - previous > gap, 1), else_=0)
    return (
        select(e.c.username, e.c.date_us, e.c.codenum, breaks.label("breaks"))
        .where(e.c.codenum.is_not(None), e.c.date_us.is_not(None))
        .order_by(e.c.username, e.c.date_us, e.c.codenum)
    )


def stats(store: Store, filters: Filters = Filters()) -> Stats:
    """Totals, per numbered cell and per user of the filtered executions. Raises :class:`StoreError`."""
    try:
        with store.engine.connect() as conn:
            total, ok, users = conn.execute(totals_query(filters)).one()
            cells = [
                {"notebook": nb, "codenum": num, "ok": int(o), "error": int(err)}
                for nb, num, o, err in conn.execute(per_codenum_query(filters))
            ]
            people = [
                {"user": user, "ok": int(o), "error": int(err)}
                for user, o, err in conn.execute(per_user_query(filters))
            ]
    except SQLAlchemyError as exc:
        raise StoreError(f"execution-log query failed ({str(exc).splitlines()[0]})") from None
    return Stats(int(total), int(ok), int(total) - int(ok), int(users), cells, people)


@dataclass
class ProgressLine:
    """One user's progress: points (UTC µs, codenum) in time order; a long gap starts a new segment.

    ``starts`` are the indices where segments start (the first is 0). The points stay integers as
    the database gave them; :attr:`segments` gives them as times in ``zone``.
    """

    user: str | None
    zone: dt.tzinfo
    times_us: list[int] = field(default_factory=list)
    codenums: list[int] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)

    @property
    def segments(self) -> list[list[tuple[dt.datetime, int]]]:
        """The segments as lists of (time in :attr:`zone`, codenum)."""
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        bounds = [*self.starts, len(self.times_us)]
        return [
            [
                ((epoch + dt.timedelta(microseconds=self.times_us[i])).astimezone(self.zone), self.codenums[i])
                for i in range(a, b)
            ]
            for a, b in itertools.pairwise(bounds)
        ]


def progress(
    store: Store,
    filters: Filters = Filters(),
    *,
    zone: dt.tzinfo | None = None,
    gap_seconds: float = DEFAULT_GAP_SECONDS,
) -> list[ProgressLine]:
    """The per-user progress series (times shown in ``zone``, default the site's). Raises :class:`StoreError`."""
    tz = zone or site_timezone()
    lines: list[ProgressLine] = []
    line: ProgressLine | None = None
    try:
        with store.engine.connect() as conn:
            for user, date_us, codenum, breaks in conn.execute(progress_query(filters, gap_seconds)):
                if line is None or line.user != user:
                    line = ProgressLine(user, tz, starts=[0])
                    lines.append(line)
                elif breaks:
                    line.starts.append(len(line.times_us))
                line.times_us.append(date_us)
                line.codenums.append(codenum)
    except SQLAlchemyError as exc:
        raise StoreError(f"execution-log query failed ({str(exc).splitlines()[0]})") from None
    return lines


def activities_query(course: str) -> Select[Any]:
    """(lti_id,) of the LTI activities the spawner recorded for ``course`` (the ``activities`` table), in id order."""
    return select(activities.c.lti_id).where(activities.c.course == course).order_by(activities.c.lti_id)


def course_activities(store: Store, course: str) -> list[str]:
    """The LTI ids of ``course``'s activities seen in launches. Raises :class:`StoreError`."""
    try:
        with store.engine.connect() as conn:
            return [str(lti) for (lti,) in conn.execute(activities_query(course))]
    except SQLAlchemyError as exc:
        raise StoreError(f"execution-log query failed ({str(exc).splitlines()[0]})") from None
