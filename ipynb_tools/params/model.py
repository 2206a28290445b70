"""The typed model of an LTI custom parameter set (SPEC 4).

A :class:`Params` holds every ``lms_*`` key the system knows, typed, plus the
lines it does not interpret (parameters that are not ``lms_*``, unknown
``lms_*`` keys, and known keys whose value could not be understood), kept
exactly and in order. :class:`VolumeParam` is one ``lms_<kind>_<NAME>`` entry.

The character rules live here too, because both the parser and the model's own
checks need them: values never contain the characters of :data:`FORBIDDEN`,
access names never contain ``/``, ``:`` or white space, and NAME is
``[a-z0-9]+`` (:data:`ipynb_tools.volumes.naming.NAME_RE`); the kinds are
:class:`~ipynb_tools.volumes.naming.VolumeKind`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..environ.access import AccessName
from ..errors import IpynbToolsError
from ..volumes.naming import NAME_RE, VolumeKind

# -- keys ---------------------------------------------------------------------------------

PREFIX = "lms_"
KEY_USERS = "lms_users"
KEY_TEACHERS = "lms_teachers"
KEY_IMAGE = "lms_image"
KEY_DEFURL = "lms_defurl"
KEY_CPULIMIT = "lms_cpulimit"
KEY_MEMLIMIT = "lms_memlimit"
KEY_ACTLIMIT = "lms_actlimit"
KEY_IFRAME = "lms_iframe"
KEY_SESSIONINFO = "lms_sessioninfo"

#: Keys the newer Moodle module writes by itself (with :data:`KEY_SESSIONINFO`), in written order.
AUTOMATIC_KEYS: tuple[str, ...] = (
    KEY_SESSIONINFO,
    "lms_course",
    "lms_ltiname",
    "lms_rpctoken",
    "lms_serverurl",
    "lms_serverpath",
)
#: Keys reserved by the old module (kept as text, not interpreted).
RESERVED_KEYS: tuple[str, ...] = ("lms_options", "lms_cpugrnt", "lms_memgrnt")

CLOSE_SUFFIX = "_close"

#: Every fixed (non-volume) key, in the order the text is written.
FIXED_KEYS: tuple[str, ...] = (
    KEY_USERS,
    KEY_TEACHERS,
    KEY_IMAGE,
    KEY_CPULIMIT,
    KEY_MEMLIMIT,
    KEY_ACTLIMIT,
    KEY_DEFURL,
    KEY_IFRAME,
    *AUTOMATIC_KEYS,
    *RESERVED_KEYS,
)

# -- characters ---------------------------------------------------------------------------

#: SPEC 4: stripped from every value.
SPEC_FORBIDDEN = ";$!\"'&|<>?^%(){}~"
#: Characters that break a line somewhere (Moodle, browsers, Python): stripped from values too.
LINE_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
#: Everything a written ``lms_*`` value never contains: the SPEC set, line breaks, control characters.
FORBIDDEN = frozenset(SPEC_FORBIDDEN + LINE_BREAKS + "".join(map(chr, range(0x20))) + "\x7f") - {"\t"}
#: Separators of user lists: comma, white space, and the Japanese commas.
USER_SEPARATORS_RE = re.compile(r"[,\u3001\uff0c\s]+")
#: Characters an access name may not contain besides :data:`FORBIDDEN` (``：`` is read as ``:``,
#: see :mod:`ipynb_tools.params.fullwidth`).
ACCESS_EXTRA_FORBIDDEN = frozenset("/:\uff1a")

#: Memory below this (bytes) and the single-user server does not start (SPEC 4, ~200 MB).
MIN_USABLE_MEMORY = 200 * 1024 * 1024
#: Docker refuses a memory limit below 6 MiB.
MIN_ENGINE_MEMORY = 6 * 1024 * 1024


class ParamsError(IpynbToolsError):
    """Parameters that cannot be read or used: ``<source>:<line>: <problem>`` on one line."""

    def __init__(self, problem: str, *, source: str | None = None, line: int | None = None) -> None:
        self.problem = problem
        self.source = source
        self.line = line
        where = source or ""
        if line is not None:
            where = f"{where}:{line}" if where else f"line {line}"
        super().__init__(f"{where}: {problem}" if where else problem)


def strip_forbidden(value: str) -> tuple[str, str]:
    """``value`` without :data:`FORBIDDEN` characters (tabs become spaces), and what was removed."""
    value = value.replace("\t", " ")
    kept: list[str] = []
    removed: list[str] = []
    for ch in value:
        (removed if ch in FORBIDDEN else kept).append(ch)
    return "".join(kept), "".join(removed)


def split_users(value: str) -> tuple[str, ...]:
    """A user list (comma, white space or Japanese comma separated) to a tuple; empty gives ``()``."""
    return tuple(token for token in USER_SEPARATORS_RE.split(value) if token)


def is_clean_value(value: str) -> bool:
    """True when ``value`` is what the parser would keep for it (no forbidden chars, stripped)."""
    return not any(ch in FORBIDDEN or ch == "\t" for ch in value) and value == value.strip()


def is_user_token(token: str) -> bool:
    """True when ``token`` can stand in a user list as one user (or ``*``)."""
    return bool(token) and is_clean_value(token) and split_users(token) == (token,)


def is_access_name(access: str) -> bool:
    """True when ``access`` survives parsing unchanged as an access name."""
    return (
        bool(access)
        and is_clean_value(access)
        and not any(ch in ACCESS_EXTRA_FORBIDDEN or ch.isspace() for ch in access)
        and not access.startswith("\uff0d")  # read as the teacher-only '-'
    )


# -- the model ----------------------------------------------------------------------------


@dataclass(frozen=True)
class VolumeParam:
    """One ``lms_<kind>_<NAME>=<access>[:<user>,...]`` entry.

    ``access`` is raw: it keeps a leading ``-`` (link for teachers only) and the
    ``.`` form (link named by the volume's full name). ``users`` is ``None``
    when the entry has no per-volume user list (an empty list is the same).
    """

    kind: VolumeKind
    name: str
    access: str
    users: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in tuple(VolumeKind):
            raise ParamsError(f"volume kind {self.kind!r} is not one of {', '.join(VolumeKind)}")
        object.__setattr__(self, "kind", VolumeKind(self.kind))
        if not isinstance(self.name, str) or not NAME_RE.fullmatch(self.name):
            raise ParamsError(f"volume NAME {self.name!r} must be lowercase letters and digits only")
        if not isinstance(self.access, str) or not is_access_name(self.access):
            raise ParamsError(
                f"access name {self.access!r} of lms_{self.kind}_{self.name} must be non-empty, without white space, "
                f"'/', ':' or any of {SPEC_FORBIDDEN}"
            )
        users = self.users
        if users is not None:
            users = tuple(users)
            for user in users:
                if not isinstance(user, str) or not is_user_token(user):
                    raise ParamsError(f"user {user!r} of lms_{self.kind}_{self.name} is not a single user name")
            object.__setattr__(self, "users", users or None)

    @property
    def key(self) -> str:
        """``lms_<kind>_<NAME>``."""
        return f"{PREFIX}{self.kind}_{self.name}"

    @property
    def kind_label(self) -> str:
        """``task``, ``submit`` or ``personal``."""
        return self.kind.label

    @property
    def access_name(self) -> AccessName:
        """The access name read for this kind: the one rule for links (:mod:`ipynb_tools.environ.access`)."""
        return AccessName(self.kind, self.access)

    @property
    def teacher_only(self) -> bool:
        """A ``-`` access name on a task or personal volume: the link is made for teachers only.

        On a submit volume the ``-`` is not a marker (students need the link to
        hand in); the link is made for everyone, named without the ``-``.
        """
        return self.access_name.teacher_only

    @property
    def full_name_link(self) -> bool:
        """The access name is ``.`` (or ``-.``): the link is named by the volume's full name."""
        return self.access_name.full_name_link

    def link_name(self, full_name: str) -> str:
        """The link's name: the access name without a leading ``-``; ``.`` becomes ``full_name``.

        An empty string means no usable link name (access ``-`` alone); ``..``
        is returned as it is and refused by validation and the access rules.
        """
        return self.access_name.link_name(full_name)

    @property
    def value(self) -> str:
        """The written value: ``access`` or ``access:user1,user2``."""
        return self.access if self.users is None else f"{self.access}:{','.join(self.users)}"


@dataclass
class Params:
    """A whole custom parameter set.

    ``None`` means "the key is absent" (the site default applies); the user
    lists are always present (empty means nobody). ``others`` holds the raw
    lines kept exactly: parameters that are not ``lms_*``, unknown ``lms_*``
    keys, and known keys whose value could not be read. ``line_numbers`` (key
    to the line it came from) only helps findings; it is not part of equality.
    """

    users: tuple[str, ...] = ()
    teachers: tuple[str, ...] = ()
    image: str | None = None
    defurl: str | None = None
    cpulimit: float | None = None
    memlimit: int | None = None
    actlimit: int | None = None
    volumes: list[VolumeParam] = field(default_factory=list)
    closes: dict[str, int] = field(default_factory=dict)
    iframe: bool | None = None
    sessioninfo: str | None = None
    course: str | None = None
    ltiname: str | None = None
    rpctoken: str | None = None
    serverurl: str | None = None
    serverpath: str | None = None
    options: str | None = None
    cpugrnt: str | None = None
    memgrnt: str | None = None
    others: list[str] = field(default_factory=list)
    line_numbers: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    # -- lookups ------------------------------------------------------------------------

    def effective_volumes(self) -> list[VolumeParam]:
        """One entry per (kind, NAME): a later entry replaces an earlier one, as in the old module."""
        chosen: dict[tuple[VolumeKind, str], VolumeParam] = {}
        for volume in self.volumes:
            chosen[(volume.kind, volume.name)] = volume
        return list(chosen.values())

    def volume(self, kind: VolumeKind, name: str) -> VolumeParam | None:
        """The effective entry ``lms_<kind>_<name>``, or None."""
        found = None
        for volume in self.volumes:
            if volume.kind == kind and volume.name == name:
                found = volume
        return found

    @property
    def effective_image(self) -> str | None:
        """The image to run, or None for the site default (absent, empty or ``default``)."""
        return None if self.image in (None, "", "default") else self.image

    @property
    def session_ids(self) -> tuple[str, str] | None:
        """``lms_sessioninfo`` split into (instance id, LTI id), or None when absent or malformed."""
        if not self.sessioninfo:
            return None
        parts = [part.strip() for part in self.sessioninfo.split(",")]
        if len(parts) != 2 or not all(parts):
            return None
        return parts[0], parts[1]

    def fixed_value(self, key: str) -> Any:
        """The typed value of a fixed key (``lms_users`` ... ``lms_memgrnt``)."""
        return getattr(self, attribute_of(key))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (used by ``params show --json``)."""
        return {
            "users": list(self.users),
            "teachers": list(self.teachers),
            "image": self.image,
            "defurl": self.defurl,
            "cpulimit": self.cpulimit,
            "memlimit": self.memlimit,
            "actlimit": self.actlimit,
            "volumes": [
                {
                    "kind": v.kind.value,
                    "kind_label": v.kind_label,
                    "name": v.name,
                    "access": v.access,
                    "teacher_only": v.teacher_only,
                    "full_name_link": v.full_name_link,
                    "users": None if v.users is None else list(v.users),
                }
                for v in self.volumes
            ],
            "closes": dict(self.closes),
            "iframe": self.iframe,
            "automatic": {key: self.fixed_value(key) for key in AUTOMATIC_KEYS},
            "reserved": {key: self.fixed_value(key) for key in RESERVED_KEYS},
            "others": list(self.others),
        }


def attribute_of(key: str) -> str:
    """The :class:`Params` attribute of a fixed key: ``lms_users`` -> ``users``."""
    if key not in FIXED_KEYS:
        raise ParamsError(f"{key!r} is not a fixed lms_* key")
    return key[len(PREFIX) :]
