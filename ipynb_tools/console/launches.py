"""The LTI launches the hub has seen, so the console knows each user's courses (issue 15).

JupyterHub keeps only the last launch of a user (its ``auth_state``); a teacher of two courses, or a
student of one, needs more: which courses a user launched from, with which role. The hub records
every launch here from its ``post_auth_hook`` (:func:`launch_recorder`; docs/console.md)::

    from ipynb_tools.console.launches import launch_recorder
    c.Authenticator.post_auth_hook = launch_recorder("sqlite:////srv/jupyterhub/console.sqlite")

One row per launch (SQLAlchemy Core, table ``console_launches``; SQLite or PostgreSQL): the hub user,
the course (LTI ``context_id``, its title and label), the LMS host, the activity (``resource_link_id``
and title; the LTI id of ``lms_sessioninfo`` when given), the LTI roles, the teacher rule's result
(:func:`ipynb_tools.launch.teacher_rule`, with the site's settings at that moment), the custom
parameters (``lms_*`` as sent) and the time (UTC, microseconds).

Who teaches a course (:meth:`LaunchStore.teaches`): the user's LATEST launch of each activity of
the course decides; a teacher of any one activity of the course is a teacher of the course. So a
teacher removed from ``lms_teachers`` stops being one at their next launch of that activity.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    create_engine,
    func,
    insert,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from ..errors import IpynbToolsError
from ..launch import (
    DEFAULT_TEACHER_ROLES,
    LTI11_PREFIX,
    LTI13_CONTEXT_CLAIM,
    LTI13_CUSTOM_CLAIM,
    LTI13_RESOURCE_LINK_CLAIM,
    LaunchError,
    is_lti13,
    read_launch,
    teacher_rule,
)
from ..params.model import ParamsError

log = logging.getLogger(__name__)

metadata = MetaData()

launches = Table(
    "console_launches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(255), nullable=False, index=True),
    Column("course", String(255), nullable=False, index=True),
    Column("course_title", Text),
    Column("course_label", Text),
    Column("host", String(255)),
    Column("resource_link_id", String(255)),
    Column("resource_link_title", Text),
    Column("lti_id", String(255)),
    Column("roles", Text, nullable=False, default=""),
    Column("teacher_rule", Text),
    Column("custom", Text, nullable=False, default="{}"),
    Column("version", String(8), nullable=False, default="1.1"),
    Column("at_us", BigInteger, nullable=False),
)


class LaunchStoreError(IpynbToolsError):
    """The launches store cannot be opened, read or written (the URL with its password hidden, the problem)."""


@dataclass(frozen=True)
class LaunchSeen:
    """One LTI launch as the hub saw it (see the module docstring for each field)."""

    username: str
    course: str
    host: str | None
    resource_link_id: str | None
    lti_id: str | None
    roles: tuple[str, ...] = ()
    teacher_rule: str | None = None
    course_title: str | None = None
    course_label: str | None = None
    resource_link_title: str | None = None
    custom: Mapping[str, str] = field(default_factory=dict)
    version: str = "1.1"
    at_us: int = 0

    @property
    def teacher(self) -> bool:
        """A teacher at this launch (the rule gave a reason)."""
        return self.teacher_rule is not None


@dataclass(frozen=True)
class CourseSeen:
    """A course as the launches show it: id (``context_id``), latest title/label/host, counts."""

    course: str
    title: str | None
    label: str | None
    host: str | None
    users: int
    last_us: int


@dataclass(frozen=True)
class ActivitySeen:
    """An LTI activity of a course seen in launches: its ids, latest title, launches, users, last time."""

    resource_link_id: str | None
    lti_id: str | None
    title: str | None
    launches: int
    users: int
    last_us: int
    custom: Mapping[str, str]


@dataclass(frozen=True)
class MemberSeen:
    """A user of a course as the launches show it: teacher by their latest launches, LTI roles, last launch."""

    username: str
    teacher: bool
    roles: tuple[str, ...]
    last_us: int


def _text(value: Any) -> str | None:
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else None
    if value is None:
        return None
    text = (value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)).strip()
    return text or None


def _custom(auth_state: Mapping[str, Any]) -> dict[str, str]:
    """The custom parameters as sent (LTI 1.1 ``custom_*`` fields without the prefix; LTI 1.3 the custom claim)."""
    if is_lti13(auth_state):
        claim = auth_state.get(LTI13_CUSTOM_CLAIM)
        items = claim.items() if isinstance(claim, Mapping) else ()
        return {str(k): _text(v) or "" for k, v in items}
    return {
        k[len(LTI11_PREFIX) :]: _text(v) or ""
        for k, v in auth_state.items()
        if isinstance(k, str) and k.startswith(LTI11_PREFIX)
    }


def seen_from_auth_state(
    username: str,
    auth_state: Mapping[str, Any],
    *,
    by_lti_role: bool = False,
    teacher_roles: Iterable[str] = DEFAULT_TEACHER_ROLES,
    lms_host: str | None = None,
    at_us: int | None = None,
) -> LaunchSeen | None:
    """The launch in jupyterhub-ltiauthenticator's ``auth_state`` (LTI 1.1 or 1.3), or None without a course.

    The teacher rule is :func:`ipynb_tools.launch.teacher_rule` with the site's ``by_lti_role`` and
    ``teacher_roles`` (the spawner's settings). Parameters with errors are still a launch (the user
    did arrive from the course); a launch that cannot be read at all gives None.
    """
    try:
        launch = read_launch(auth_state, lms_host=lms_host)
    except (LaunchError, ParamsError):
        return None
    if not launch.course:
        return None
    if is_lti13(auth_state):
        context = auth_state.get(LTI13_CONTEXT_CLAIM)
        link = auth_state.get(LTI13_RESOURCE_LINK_CLAIM)
        context = context if isinstance(context, Mapping) else {}
        link = link if isinstance(link, Mapping) else {}
        title, label = _text(context.get("title")), _text(context.get("label"))
        link_id, link_title = _text(link.get("id")), _text(link.get("title"))
        version = "1.3"
    else:
        title, label = _text(auth_state.get("context_title")), _text(auth_state.get("context_label"))
        link_id, link_title = _text(auth_state.get("resource_link_id")), _text(auth_state.get("resource_link_title"))
        version = "1.1"
    return LaunchSeen(
        username=username,
        course=launch.course,
        host=launch.host,
        resource_link_id=link_id,
        lti_id=launch.lti_id,
        roles=tuple(launch.roles),
        teacher_rule=teacher_rule(launch, username, by_lti_role=by_lti_role, teacher_roles=teacher_roles),
        course_title=title,
        course_label=label,
        resource_link_title=link_title,
        custom=_custom(auth_state),
        version=version,
        at_us=at_us if at_us is not None else time.time_ns() // 1000,
    )


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparseable URL is shown without anything before '@'
        return url.split("@")[-1]


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class LaunchStore:
    """The launches store; ``LaunchStore.open(url)`` creates the table when missing. A context manager."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url

    @classmethod
    def open(cls, db: str | os.PathLike[str]) -> Self:
        """Open (creating the table) the store at ``db``: a SQLAlchemy URL or a SQLite path.

        Raises :class:`LaunchStoreError` naming the URL (password hidden) and the problem.
        """
        from ..execlog.store import database_url

        url = database_url(db)
        try:
            engine = create_engine(url, connect_args={"timeout": 30} if url.startswith("sqlite") else {})
            metadata.create_all(engine)
        except SQLAlchemyError as exc:
            raise LaunchStoreError(f"{_shown(url)}: cannot open the launches store ({_first_line(exc)})") from None
        except ModuleNotFoundError as exc:
            raise LaunchStoreError(f"{_shown(url)}: the database driver {exc.name!r} is not installed") from None
        return cls(engine, url)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, what: str, work: Callable[[Any], Any]) -> Any:
        try:
            with self.engine.begin() as conn:
                return work(conn)
        except SQLAlchemyError as exc:
            raise LaunchStoreError(f"{_shown(self.url)}: cannot {what} ({_first_line(exc)})") from None

    # -- writing --------------------------------------------------------------------------
    def record(self, seen: LaunchSeen) -> None:
        """Store one launch."""
        row = {
            "username": seen.username,
            "course": seen.course,
            "course_title": seen.course_title,
            "course_label": seen.course_label,
            "host": seen.host,
            "resource_link_id": seen.resource_link_id,
            "resource_link_title": seen.resource_link_title,
            "lti_id": seen.lti_id,
            "roles": ",".join(seen.roles),
            "teacher_rule": seen.teacher_rule,
            "custom": json.dumps(dict(seen.custom), ensure_ascii=False, sort_keys=True),
            "version": seen.version,
            "at_us": seen.at_us,
        }
        self._run("record a launch", lambda conn: conn.execute(insert(launches), row))

    # -- reading --------------------------------------------------------------------------
    def _latest_per_activity(self, *where: Any) -> Any:
        """The latest launch of each (user, course, activity) matching ``where`` (a subquery of ids)."""
        link = func.coalesce(launches.c.resource_link_id, "")
        inner = (
            select(func.max(launches.c.id).label("id"))
            .where(*where)
            .group_by(launches.c.username, launches.c.course, link)
            .subquery()
        )
        return select(launches).join(inner, inner.c.id == launches.c.id)

    @staticmethod
    def _seen(row: Any) -> LaunchSeen:
        return LaunchSeen(
            username=row.username,
            course=row.course,
            host=row.host,
            resource_link_id=row.resource_link_id,
            lti_id=row.lti_id,
            roles=tuple(r for r in (row.roles or "").split(",") if r),
            teacher_rule=row.teacher_rule,
            course_title=row.course_title,
            course_label=row.course_label,
            resource_link_title=row.resource_link_title,
            custom=json.loads(row.custom or "{}"),
            version=row.version,
            at_us=row.at_us,
        )

    def latest(self, *, username: str | None = None, course: str | None = None) -> list[LaunchSeen]:
        """The latest launch of each (user, course, activity), filtered by user and/or course; newest first."""
        where = []
        if username is not None:
            where.append(launches.c.username == username)
        if course is not None:
            where.append(launches.c.course == course)
        query = self._latest_per_activity(and_(True, *where)).order_by(launches.c.at_us.desc(), launches.c.id.desc())
        found: list[LaunchSeen] = self._run("read launches", lambda conn: [self._seen(r) for r in conn.execute(query)])
        return found

    def teaches(self, username: str, course: str) -> bool:
        """``username`` is a teacher of ``course``: by the latest launch of any one of its activities."""
        return any(seen.teacher for seen in self.latest(username=username, course=course))

    def courses_taught(self, username: str) -> list[str]:
        """The course ids ``username`` teaches (see :meth:`teaches`), sorted."""
        return sorted({seen.course for seen in self.latest(username=username) if seen.teacher})

    def courses(self, only: Iterable[str] | None = None) -> list[CourseSeen]:
        """Every course seen (or those in ``only``), newest launch first, with the latest title and host."""
        wanted = None if only is None else set(only)
        by_course: dict[str, list[LaunchSeen]] = {}
        for seen in self.latest():
            if wanted is None or seen.course in wanted:
                by_course.setdefault(seen.course, []).append(seen)
        result = []
        for course, seen_list in by_course.items():
            newest = seen_list[0]
            title = next((s.course_title for s in seen_list if s.course_title), None)
            label = next((s.course_label for s in seen_list if s.course_label), None)
            result.append(
                CourseSeen(course, title, label, newest.host, len({s.username for s in seen_list}), newest.at_us)
            )
        return sorted(result, key=lambda c: (-c.last_us, c.course))

    def course(self, course: str) -> CourseSeen | None:
        """One course (None when no launch of it was seen)."""
        found = self.courses([course])
        return found[0] if found else None

    def activities(self, course: str) -> list[ActivitySeen]:
        """The course's LTI activities seen in launches (by ``resource_link_id``), newest first."""
        groups: dict[str | None, list[LaunchSeen]] = {}
        for seen in self.latest(course=course):
            groups.setdefault(seen.resource_link_id, []).append(seen)
        counts = dict(
            self._run(
                "count launches",
                lambda conn: conn.execute(
                    select(launches.c.resource_link_id, func.count())
                    .where(launches.c.course == course)
                    .group_by(launches.c.resource_link_id)
                ).all(),
            )
        )
        result = [
            ActivitySeen(
                link,
                seen_list[0].lti_id,
                next((s.resource_link_title for s in seen_list if s.resource_link_title), None),
                int(counts.get(link, 0)),
                len({s.username for s in seen_list}),
                seen_list[0].at_us,
                seen_list[0].custom,
            )
            for link, seen_list in groups.items()
        ]
        return sorted(result, key=lambda a: -a.last_us)

    def members(self, course: str) -> list[MemberSeen]:
        """The users who launched from ``course``: teacher (see :meth:`teaches`), roles, last launch; by name."""
        people: dict[str, list[LaunchSeen]] = {}
        for seen in self.latest(course=course):
            people.setdefault(seen.username, []).append(seen)
        return [
            MemberSeen(
                name,
                any(s.teacher for s in seen_list),
                tuple(dict.fromkeys(r for s in seen_list for r in s.roles)),
                max(s.at_us for s in seen_list),
            )
            for name, seen_list in sorted(people.items())
        ]

    def host_of(self, course: str) -> str | None:
        """The LMS host of the course's latest launch."""
        found = self.course(course)
        return found.host if found else None


AuthModel = dict[str, Any]


def launch_recorder(
    db: str,
    *,
    teachers_by_lti_role: bool = False,
    teacher_roles: Iterable[str] = DEFAULT_TEACHER_ROLES,
    lms_host: str | None = None,
) -> Callable[[Any, Any, AuthModel], Awaitable[AuthModel]]:
    """A JupyterHub ``Authenticator.post_auth_hook`` that records each LTI launch in the store at ``db``.

    Give it the spawner's teacher settings (``LTIContainerSpawner.teachers_by_lti_role``,
    ``teacher_roles``, ``lms_host``) so the console's rule is the spawner's. The store is written in a
    thread; a failure is logged and never stops the login. Returns the authentication model unchanged.
    """
    roles = tuple(teacher_roles)
    store: list[LaunchStore] = []

    def write(name: str, auth_state: Mapping[str, Any]) -> None:
        seen = seen_from_auth_state(
            name, auth_state, by_lti_role=teachers_by_lti_role, teacher_roles=roles, lms_host=lms_host
        )
        if seen is None:
            return
        if not store:
            store.append(LaunchStore.open(db))
        store[0].record(seen)

    async def hook(authenticator: Any, handler: Any, authentication: AuthModel) -> AuthModel:
        import asyncio

        auth_state = authentication.get("auth_state")
        name = authentication.get("name")
        if isinstance(auth_state, Mapping) and isinstance(name, str):
            try:
                await asyncio.get_running_loop().run_in_executor(None, write, name, auth_state)
            except IpynbToolsError as exc:
                getattr(authenticator, "log", log).warning("ipynb-tools console: launch not recorded: %s", exc)
        return authentication

    return hook


__all__ = [
    "ActivitySeen",
    "CourseSeen",
    "LaunchSeen",
    "LaunchStore",
    "LaunchStoreError",
    "MemberSeen",
    "launch_recorder",
    "seen_from_auth_state",
]
