"""The container specification for one launch (SPEC 6), usable by a JupyterHub spawner and testable alone.

:func:`build_spec` turns (custom parameters, user, uid, gid, role, course id,
LTI id, LMS host) into a :class:`ContainerSpec`: image, the NB_* start
environment (:class:`ipynb_tools.environ.StartEnvironment`, including the home
``NB_HOME`` = ``<home root>/<user>`` or ``<home root>/<group>/<user>``) plus the old spawner's
other variables (:class:`ipynb_tools.environ.OldSpawnerVariables`: ``NB_DIR``, ``NB_HOSTNAME``,
``LTI_*``, ``TZ``...), the course's task and submit volumes
mounted at ``<works>/.volumes/<full name>`` (:class:`ipynb_tools.environ.UserPaths`)
(personal "volumes" are directories in the home: listed in ``NB_PRSNALS``, not
mounted), memory and CPU limits (unset: the site default; 0: no limit) and guarantees
(:mod:`ipynb_tools.params.resources`), default URL, activity limit, labels and the
name ``jupyterhub-<course>-<lti id>-<host>-<random>-<user>``.

Who mounts what comes from :func:`ipynb_tools.params.rules.mounts`, never from
here. :meth:`ContainerSpec.to_docker_kwargs` gives keyword arguments for the
Docker SDK's ``client.containers.run(**kwargs)`` / ``create(**kwargs)``;
nothing here imports ``docker``.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from .environ import (
    DEFAULT_GROUP,
    DEFAULT_HOME_ROOT,
    DEFAULT_THRGID,
    DEFAULT_THRGROUP,
    IPYNB_TOOLS_TIMEZONE,
    STUDENT_UMASK,
    TEACHER_UMASK,
    OldSpawnerVariables,
    StartEnvironment,
    UserPaths,
    VolumeEntry,
    site_timezone,
)
from .errors import IpynbToolsError, shown
from .params.model import Params, ParamsError
from .params.resources import resources
from .params.rules import is_teacher, mounts
from .usernames import user_name_problem
from .volumes.naming import LABEL_PREFIX, LABEL_USER, VolumeKind, VolumeName, check_course, check_host

DEFAULT_URL = "/lab"
#: Docker's rule for container names.
CONTAINER_NAME_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
MAX_NAME_LENGTH = 200
LABEL_LTI_ID = LABEL_PREFIX + "lti-id"
LABEL_ROLE = LABEL_PREFIX + "role"


class SpecError(IpynbToolsError):
    """A launch that cannot become a container (no image, a user name unusable as a login...)."""


@dataclass(frozen=True)
class VolumeMount:
    """One engine volume mounted into the container."""

    volume: str  # engine volume name (the full name)
    target: str  # absolute path inside the container
    kind: str  # vol or sub
    labels: dict[str, str] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"volume": self.volume, "target": self.target, "kind": self.kind, "labels": dict(self.labels)}


@dataclass
class ContainerSpec:
    """Everything needed to run the user's container."""

    name: str
    image: str
    environment: dict[str, str]
    mounts: list[VolumeMount]
    home: str
    default_url: str
    #: Bytes; None: the site default applies; 0: no limit (``lms_memlimit=0``, SPEC 4).
    mem_limit: int | None = None
    #: CPUs x 1e9; None: the site default applies; 0: no limit (``lms_cpulimit=0.0``).
    nano_cpus: int | None = None
    #: Bytes the engine reserves (``lms_memgrnt``; Docker's ``mem_reservation``); None: none.
    mem_reservation: int | None = None
    #: Docker's relative CPU weight for ``lms_cpugrnt`` (1024 per CPU); None: the engine's default.
    cpu_shares: int | None = None
    actlimit: int | None = None
    labels: dict[str, str] = field(default_factory=dict)
    #: Set-up runs as root, then the image's start script drops to NB_USER (docker-stacks convention).
    user: str = "root"
    network_mode: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_docker_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``client.containers.run(**kw)`` or ``client.containers.create(**kw)``."""
        kwargs: dict[str, Any] = {
            "image": self.image,
            "name": self.name,
            "environment": dict(self.environment),
            "volumes": {m.volume: {"bind": m.target, "mode": "rw"} for m in self.mounts},
            "labels": dict(self.labels),
            "user": self.user,
        }
        if self.mem_limit is not None:
            kwargs["mem_limit"] = self.mem_limit  # 0: Docker's "no limit"
        if self.nano_cpus is not None:
            kwargs["nano_cpus"] = self.nano_cpus  # 0: no CPU quota
        if self.mem_reservation is not None:
            kwargs["mem_reservation"] = self.mem_reservation
        if self.cpu_shares is not None:
            kwargs["cpu_shares"] = self.cpu_shares
        if self.network_mode is not None:
            kwargs["network_mode"] = self.network_mode
        kwargs.update(self.extra)
        return kwargs

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the Docker keyword arguments plus what the spawner needs besides them."""
        return {
            "docker": self.to_docker_kwargs(),
            "mounts": [m.to_dict() for m in self.mounts],
            "home": self.home,
            "default_url": self.default_url,
            "actlimit": self.actlimit,
        }


def container_name(course: str, lti_id: str, host: str, user: str, random: str | None = None) -> str:
    """``jupyterhub-<course>-<lti id>-<host>-<random>-<user>``, made a valid container name.

    Characters Docker refuses become ``_`` (a Unicode user name keeps its
    length and stays unique with the random part); over-long names are cut
    before the user part keeps its tail.
    """
    random = random if random is not None else secrets.token_hex(4)
    parts = [_sanitise(p) for p in ("jupyterhub", course, lti_id, host, random)]
    head = "-".join(parts)
    tail = _sanitise(user)
    name = f"{head}-{tail}"
    if len(name) > MAX_NAME_LENGTH:
        name = f"{head[: max(16, MAX_NAME_LENGTH - len(tail) - 1)]}-{tail}"[:MAX_NAME_LENGTH]
    if not CONTAINER_NAME_RE.fullmatch(name):  # cannot happen after _sanitise; kept as a guard
        raise SpecError(f"container name {name!r} is not valid")
    return name


#: Swarm's rule for service names (swarmkit ``validateAnnotations``): a DNS label of at most 63 characters.
SERVICE_NAME_RE = re.compile(r"[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*")
MAX_SERVICE_NAME_LENGTH = 63


def service_name(name: str) -> str:
    """The swarm service name for the container name ``name`` (:func:`container_name`).

    Swarm takes only letters, digits, ``-`` and ``_`` inside, at most 63 characters; a container
    name (dots of the LMS host, a long course id) becomes ``-``-separated words, cut with a
    hash of the whole name when too long, so two launches never share a service name.
    """
    words = re.sub(r"[^a-zA-Z0-9]+", "-", name).strip("-") or "jupyterhub"
    if len(words) > MAX_SERVICE_NAME_LENGTH:
        digest = hashlib.sha256(name.encode()).hexdigest()[:10]
        words = words[: MAX_SERVICE_NAME_LENGTH - len(digest) - 1].rstrip("-") + "-" + digest
    if not SERVICE_NAME_RE.fullmatch(words):  # cannot happen after the substitution; kept as a guard
        raise SpecError(f"service name {words!r} is not valid")
    return words


def _sanitise(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_.-]", "_", text) or "_"


def check_user(user: str) -> str:
    """Return ``user`` or raise :class:`SpecError` (the rule of :mod:`ipynb_tools.usernames`)."""
    problem = user_name_problem(user)
    if problem:
        raise SpecError(f"user name {shown(user)} {problem}: it cannot be a login in the container")
    return user


def build_spec(
    params: Params,
    user: str,
    *,
    uid: int,
    gid: int,
    course: str,
    lti_id: str,
    host: str,
    teacher: bool | None = None,
    default_image: str | None = None,
    default_url: str = DEFAULT_URL,
    teachers_gid: int = DEFAULT_THRGID,
    teachers_group: str = DEFAULT_THRGROUP,
    home_root: str = DEFAULT_HOME_ROOT,
    group: str = DEFAULT_GROUP,
    home_by_group: bool = False,
    timezone: str | None = None,
    random: str | None = None,
    at: float | None = None,
) -> ContainerSpec:
    """The container specification for ``user`` launching the LTI activity ``lti_id`` of ``course``.

    ``teacher`` None: the user is a teacher when listed in ``lms_teachers``.
    ``default_image`` is the site's image for ``lms_image`` absent/``default``.
    ``home_root``: homes in the container are ``<home_root>/<user>`` (``NB_HOME``), or with
    ``home_by_group`` the old spawner's ``<home_root>/<group>/<user>`` (SPEC 12).
    ``group``: the name of the user's primary group ``gid`` (``NB_GROUP``).
    ``timezone``: the site's zone for closing times written without one
    (default ``$IPYNB_TOOLS_TIMEZONE``; passed into the container when set).
    ``random`` fixes the random part of the name (tests); ``at`` the time for
    closing states.
    """
    check_user(user)
    check_course(course)
    check_host(host)
    if not str(lti_id).strip():
        raise SpecError("LTI id is empty")
    if uid < 0 or gid < 0:
        raise SpecError(f"uid {uid} / gid {gid} must not be negative")
    role_teacher = is_teacher(params, user) if teacher is None else teacher
    image = params.effective_image or default_image
    if not image:
        raise SpecError("no image: lms_image is absent or 'default' and no site default image was given")

    if not home_root.startswith("/"):
        raise SpecError(f"home root {home_root!r} is not an absolute path")
    group_problem = user_name_problem(group)
    if group_problem:
        raise SpecError(f"group name {shown(group)} {group_problem}")
    paths = UserPaths.for_user(user, home_root=home_root, group=group if home_by_group else None)
    zone = timezone if timezone is not None else os.environ.get(IPYNB_TOOLS_TIMEZONE) or None
    if zone:
        site_timezone({IPYNB_TOOLS_TIMEZONE: zone})  # an unknown zone name fails here, not in the container
    lists: dict[VolumeKind, list[VolumeEntry]] = {kind: [] for kind in VolumeKind}
    volume_mounts: list[VolumeMount] = []
    closes: dict[str, int] = {}
    for mount in mounts(params, user, teacher=role_teacher, at=at, course=course, host=host):
        if mount.withheld:  # a student's closed submit volume: not in the container at all
            continue
        full = mount.full_name
        assert full is not None  # course and host are given
        entry = VolumeEntry(full, mount.access)
        lists[mount.kind].append(entry)
        if mount.kind.on_engine:
            labels = VolumeName(mount.kind, mount.name, course, host).labels
            volume_mounts.append(VolumeMount(full, str(paths.volume(full)), mount.kind, labels))
        if mount.kind is VolumeKind.SUBMIT and mount.close_time is not None:
            closes[full] = mount.close_time

    env = StartEnvironment(
        user=user,
        uid=uid,
        gid=gid,
        teacher=role_teacher,
        teachers_gid=teachers_gid,
        teachers_group=teachers_group,
        umask=TEACHER_UMASK if role_teacher else STUDENT_UMASK,
        tasks=lists[VolumeKind.TASK],
        submits=lists[VolumeKind.SUBMIT],
        personals=lists[VolumeKind.PERSONAL],
        works_dir=paths.works,
        actlimit=params.actlimit,
        submit_close=closes,
        home_dir=paths.home,
        timezone=zone,
        group=group,
    )
    ids = params.session_ids
    old = OldSpawnerVariables(
        home=str(paths.home),
        host=host,
        options=params.options or "",
        instance_id=ids[0] if ids else "",
        lti_id=ids[1] if ids else str(lti_id),
        course_name=params.course or "",
        activity_name=params.ltiname or "",
        timezone=zone,
    )
    try:
        res = resources(params)
    except ParamsError as exc:
        raise SpecError(str(exc)) from None
    if (res.cpu_limit is not None and res.cpu_limit < 0) or (res.mem_limit is not None and res.mem_limit < 0):
        raise SpecError("a negative CPU or memory limit (0 means no limit)")
    labels = {
        LABEL_PREFIX + "course": course,
        LABEL_PREFIX + "host": host,
        LABEL_LTI_ID: str(lti_id),
        LABEL_USER: user,
        LABEL_ROLE: "teacher" if role_teacher else "student",
    }
    return ContainerSpec(
        name=container_name(course, str(lti_id), host, user, random),
        image=image,
        environment={**env.to_environ(), **old.to_environ()},
        mounts=volume_mounts,
        home=str(paths.home),
        default_url=params.defurl or default_url,
        mem_limit=res.mem_limit,
        nano_cpus=None if res.cpu_limit is None else round(res.cpu_limit * 1e9),
        mem_reservation=res.mem_guarantee,
        cpu_shares=res.cpu_shares,
        actlimit=params.actlimit,
        labels=labels,
    )
