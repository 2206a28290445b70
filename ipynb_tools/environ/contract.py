"""The start environment as one value: :class:`StartEnvironment` (SPEC 3.3).

The spawner side builds it and writes :meth:`StartEnvironment.to_environ` into
the container; ``setup`` (root) and ``sync`` read it back with
:meth:`StartEnvironment.from_environ`. Where things are is
:attr:`StartEnvironment.paths` (:class:`ipynb_tools.environ.paths.UserPaths`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..usernames import user_name_problem
from ..volumes.naming import VolumeKind
from .closing import format_close_times, parse_close_times
from .entries import VolumeEntry, format_entries, parse_entries
from .paths import DEFAULT_HOME_ROOT, UserPaths
from .umask import parse_umask
from .variables import (
    DEFAULT_THRGID,
    DEFAULT_THRGROUP,
    IPYNB_TOOLS_TIMEZONE,
    NB_ACTLIMIT,
    NB_GID,
    NB_GROUP,
    NB_HOME,
    NB_PRSNALS,
    NB_SUBMITS,
    NB_SUBMITS_CLOSE,
    NB_TEACHER,
    NB_THRGID,
    NB_THRGROUP,
    NB_UID,
    NB_UMASK,
    NB_USER,
    NB_VOLUMES,
    NB_WRKDIR,
    STUDENT_UMASK,
    EnvironmentContractError,
)


@dataclass
class StartEnvironment:
    """Everything container start needs to know about the user and the course volumes.

    ``tasks``, ``submits`` and ``personals`` are ``NB_VOLUMES``, ``NB_SUBMITS`` and
    ``NB_PRSNALS``; ``teachers_gid``/``teachers_group`` are ``NB_THRGID``/``NB_THRGROUP``;
    ``home_dir`` is ``NB_HOME`` (None: ``/home/<user>``), ``works_dir`` ``NB_WRKDIR``
    (None: ``<home>/jupyter/works``); ``submit_close`` maps full names to unix seconds;
    ``timezone`` is the site's zone name for closing times (None: not passed); ``group`` is
    ``NB_GROUP``, the name of the user's primary group (None: not passed).
    """

    user: str
    uid: int
    gid: int
    teacher: bool = False
    teachers_gid: int = DEFAULT_THRGID
    teachers_group: str = DEFAULT_THRGROUP
    umask: int = STUDENT_UMASK
    tasks: list[VolumeEntry] = field(default_factory=list)
    submits: list[VolumeEntry] = field(default_factory=list)
    personals: list[VolumeEntry] = field(default_factory=list)
    works_dir: Path | None = None
    actlimit: int | None = None
    submit_close: dict[str, int] = field(default_factory=dict)
    home_dir: Path | None = None
    timezone: str | None = None
    group: str | None = None

    @property
    def paths(self) -> UserPaths:
        """Home, works, ``.volumes``, state directory, umask file and setup log of this user."""
        if self.home_dir is not None:
            return UserPaths.for_home(self.home_dir, works=self.works_dir)
        return UserPaths.for_user(self.user, home_root=DEFAULT_HOME_ROOT, works=self.works_dir)

    @property
    def home(self) -> Path:
        """The user's home (``NB_HOME``, default ``/home/<user>``)."""
        return self.paths.home

    @property
    def works(self) -> Path:
        """The works directory: ``NB_WRKDIR`` or ``<home>/jupyter/works``."""
        return self.paths.works

    def entries(self) -> Iterator[tuple[VolumeKind, VolumeEntry]]:
        """Every volume entry with its kind, tasks first, then submits, then personals, in order."""
        lists = (
            (VolumeKind.TASK, self.tasks),
            (VolumeKind.SUBMIT, self.submits),
            (VolumeKind.PERSONAL, self.personals),
        )
        for kind, entries in lists:
            for entry in entries:
                yield kind, entry

    @classmethod
    def from_environ(cls, env: Mapping[str, str] | None = None) -> StartEnvironment:
        """Read the contract from ``env`` (default: ``os.environ``)."""
        env = os.environ if env is None else env
        user = env.get(NB_USER, "")
        if not user:
            raise EnvironmentContractError(f"{NB_USER} is not set")
        teacher = bool(env.get(NB_TEACHER)) and env.get(NB_TEACHER) == user
        return cls(
            user=user,
            uid=_int(env, NB_UID, 1000),
            gid=_int(env, NB_GID, 100),
            teacher=teacher,
            teachers_gid=_int(env, NB_THRGID, DEFAULT_THRGID),
            teachers_group=env.get(NB_THRGROUP) or DEFAULT_THRGROUP,
            umask=parse_umask(env.get(NB_UMASK), teacher=teacher),
            tasks=parse_entries(env.get(NB_VOLUMES)),
            submits=parse_entries(env.get(NB_SUBMITS)),
            personals=parse_entries(env.get(NB_PRSNALS)),
            works_dir=Path(env[NB_WRKDIR]) if env.get(NB_WRKDIR) else None,
            actlimit=_optional_int(env, NB_ACTLIMIT),
            submit_close=parse_close_times(env.get(NB_SUBMITS_CLOSE), env=env),
            home_dir=Path(env[NB_HOME]) if env.get(NB_HOME) else None,
            timezone=env.get(IPYNB_TOOLS_TIMEZONE) or None,
            group=_group(env.get(NB_GROUP) or None),
        )

    def to_environ(self) -> dict[str, str]:
        """The variables to pass to the container (``NB_HOME`` and the time zone only when set)."""
        env = {
            NB_USER: self.user,
            NB_UID: str(self.uid),
            NB_GID: str(self.gid),
            NB_TEACHER: self.user if self.teacher else "",
            NB_THRGID: str(self.teachers_gid),
            NB_THRGROUP: self.teachers_group,
            NB_UMASK: f"{self.umask:04o}",
            NB_VOLUMES: format_entries(self.tasks),
            NB_SUBMITS: format_entries(self.submits),
            NB_PRSNALS: format_entries(self.personals),
            NB_WRKDIR: str(self.works),
            NB_SUBMITS_CLOSE: format_close_times(self.submit_close),
        }
        if self.home_dir is not None:
            env[NB_HOME] = str(self.home_dir)
        if self.actlimit is not None:
            env[NB_ACTLIMIT] = str(self.actlimit)
        if self.timezone:
            env[IPYNB_TOOLS_TIMEZONE] = self.timezone
        if self.group:
            env[NB_GROUP] = self.group
        return env


def _group(name: str | None) -> str | None:
    """``NB_GROUP`` goes into the container's ``/etc/group``: it must be usable as a name there."""
    if name is not None and user_name_problem(name):
        raise EnvironmentContractError(f"{NB_GROUP}={name!r} {user_name_problem(name)}")
    return name


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    found = _optional_int(env, key)
    return default if found is None else found


def _optional_int(env: Mapping[str, str], key: str) -> int | None:
    value = env.get(key, "")
    if value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise EnvironmentContractError(f"{key}={value!r} is not an integer") from None
