"""The container-start environment contract (SPEC 3.3), defined once.

The spawner side (:mod:`ipynb_tools.spec`) writes these variables; container
start (``setup``), ``submit`` and the server extension read them. Keeping the
names and list formats here means the two sides cannot drift.

Volume lists are space-separated entries ``.volumes/<full name>:<access>``
relative to the works directory. The access name keeps its markers: a leading
``-`` (link for teachers only) or ``.`` (link under the full name).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import IpynbToolsError

NB_USER = "NB_USER"
NB_UID = "NB_UID"
NB_GID = "NB_GID"
NB_TEACHER = "NB_TEACHER"
NB_THRGID = "NB_THRGID"
NB_THRGROUP = "NB_THRGROUP"
NB_UMASK = "NB_UMASK"
NB_VOLUMES = "NB_VOLUMES"
NB_SUBMITS = "NB_SUBMITS"
NB_PRSNALS = "NB_PRSNALS"
NB_WRKDIR = "NB_WRKDIR"
NB_ACTLIMIT = "NB_ACTLIMIT"
#: Closing times of submit volumes: space-separated ``<full name>=<unix time>``.
NB_SUBMITS_CLOSE = "NB_SUBMITS_CLOSE"

DEFAULT_THRGID = 7000
DEFAULT_THRGROUP = "teachers"
TEACHER_UMASK = 0o033
STUDENT_UMASK = 0o037
VOLUMES_DIR = ".volumes"
WORKS_RELATIVE = Path("jupyter") / "works"
#: Where ``setup`` leaves the user's umask for the server extension and shells (inside the home).
UMASK_FILE_RELATIVE = Path(".ipynb-tools") / "umask"


class EnvironmentContractError(IpynbToolsError):
    """A start-environment variable that does not follow the contract."""


@dataclass(frozen=True)
class VolumeEntry:
    """One ``.volumes/<full name>:<access>`` entry."""

    full_name: str
    access: str

    @property
    def teacher_only(self) -> bool:
        """A ``-`` access name: the link is made for teachers only."""
        return self.access.startswith("-")

    @property
    def link_name(self) -> str:
        """The name of the access link: ``-`` removed; ``.`` (or ``-.``) becomes the full name."""
        name = self.access[1:] if self.teacher_only else self.access
        return self.full_name if name == "." else name

    @property
    def mount_relative(self) -> str:
        """Mount point relative to the works directory."""
        return f"{VOLUMES_DIR}/{self.full_name}"

    def format(self) -> str:
        """The entry as it appears in the environment variable."""
        return f"{self.mount_relative}:{self.access}"

    @classmethod
    def parse(cls, text: str) -> VolumeEntry:
        """Parse ``.volumes/<full>:<access>`` (the ``.volumes/`` prefix is optional)."""
        path, sep, access = text.partition(":")
        if not sep or not path:
            raise EnvironmentContractError(f"volume entry {text!r} is not '.volumes/<full name>:<access name>'")
        full = path[len(VOLUMES_DIR) + 1 :] if path.startswith(VOLUMES_DIR + "/") else path
        if not full or "/" in full or full in (".", ".."):
            raise EnvironmentContractError(f"volume entry {text!r} does not name a volume under {VOLUMES_DIR}/")
        if "/" in access:
            raise EnvironmentContractError(f"volume entry {text!r} has '/' in its access name")
        return cls(full, access)


def parse_entries(value: str | None) -> list[VolumeEntry]:
    """Parse a space-separated list of entries (empty or None gives [])."""
    return [VolumeEntry.parse(item) for item in (value or "").split()]


def format_entries(entries: list[VolumeEntry]) -> str:
    """The inverse of :func:`parse_entries`."""
    for e in entries:
        if any(ch.isspace() for ch in e.access + e.full_name):
            raise EnvironmentContractError(f"volume entry {e.format()!r} contains white space")
    return " ".join(e.format() for e in entries)


def parse_close_times(value: str | None) -> dict[str, int]:
    """``<full name>=<unix time> ...`` to a dict."""
    result: dict[str, int] = {}
    for item in (value or "").split():
        name, sep, when = item.rpartition("=")
        if not sep or not name:
            raise EnvironmentContractError(f"{NB_SUBMITS_CLOSE} entry {item!r} is not '<volume>=<unix time>'")
        try:
            result[name] = int(float(when))
        except ValueError:
            raise EnvironmentContractError(f"{NB_SUBMITS_CLOSE} entry {item!r} has no unix time") from None
    return result


def format_close_times(times: Mapping[str, int]) -> str:
    """The inverse of :func:`parse_close_times`."""
    return " ".join(f"{name}={int(t)}" for name, t in times.items())


def parse_umask(value: str | None, *, teacher: bool) -> int:
    """An octal umask string, or the role's default when empty."""
    if not value:
        return TEACHER_UMASK if teacher else STUDENT_UMASK
    try:
        mask = int(value, 8)
    except ValueError:
        raise EnvironmentContractError(f"{NB_UMASK}={value!r} is not an octal umask") from None
    if not 0 <= mask <= 0o777:
        raise EnvironmentContractError(f"{NB_UMASK}={value!r} is out of range")
    return mask


def read_umask_file(path: Path) -> int | None:
    """The octal mask in ``path`` (e.g. ``0037``), or None when the file is missing.

    Raises :class:`EnvironmentContractError` when the file is not a small regular
    file holding one octal number.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise EnvironmentContractError(f"{path}: cannot read the umask file ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode) or st.st_size > 64:
        raise EnvironmentContractError(f"{path}: the umask file is not a small regular file")
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise EnvironmentContractError(f"{path}: cannot read the umask file ({exc})") from None
    if not text:
        raise EnvironmentContractError(f"{path}: the umask file is empty")
    try:
        return parse_umask(text, teacher=False)
    except EnvironmentContractError as exc:
        raise EnvironmentContractError(f"{path}: {exc}") from None


@dataclass
class StartEnvironment:
    """Everything container start needs to know about the user and the course volumes."""

    user: str
    uid: int
    gid: int
    teacher: bool = False
    thr_gid: int = DEFAULT_THRGID
    thr_group: str = DEFAULT_THRGROUP
    umask: int = STUDENT_UMASK
    volumes: list[VolumeEntry] = field(default_factory=list)
    submits: list[VolumeEntry] = field(default_factory=list)
    personals: list[VolumeEntry] = field(default_factory=list)
    works_dir: Path | None = None
    actlimit: int | None = None
    submit_close: dict[str, int] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        """The user's home (``/home/<user>``)."""
        return Path("/home") / self.user

    @property
    def works(self) -> Path:
        """The works directory: ``NB_WRKDIR`` or ``<home>/jupyter/works``."""
        return self.works_dir if self.works_dir is not None else self.home / WORKS_RELATIVE

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
            thr_gid=_int(env, NB_THRGID, DEFAULT_THRGID),
            thr_group=env.get(NB_THRGROUP) or DEFAULT_THRGROUP,
            umask=parse_umask(env.get(NB_UMASK), teacher=teacher),
            volumes=parse_entries(env.get(NB_VOLUMES)),
            submits=parse_entries(env.get(NB_SUBMITS)),
            personals=parse_entries(env.get(NB_PRSNALS)),
            works_dir=Path(env[NB_WRKDIR]) if env.get(NB_WRKDIR) else None,
            actlimit=_int(env, NB_ACTLIMIT, None),
            submit_close=parse_close_times(env.get(NB_SUBMITS_CLOSE)),
        )

    def to_environ(self) -> dict[str, str]:
        """The variables to pass to the container."""
        env = {
            NB_USER: self.user,
            NB_UID: str(self.uid),
            NB_GID: str(self.gid),
            NB_TEACHER: self.user if self.teacher else "",
            NB_THRGID: str(self.thr_gid),
            NB_THRGROUP: self.thr_group,
            NB_UMASK: f"{self.umask:04o}",
            NB_VOLUMES: format_entries(self.volumes),
            NB_SUBMITS: format_entries(self.submits),
            NB_PRSNALS: format_entries(self.personals),
            NB_WRKDIR: str(self.works),
            NB_SUBMITS_CLOSE: format_close_times(self.submit_close),
        }
        if self.actlimit is not None:
            env[NB_ACTLIMIT] = str(self.actlimit)
        return env


def _int(env: Mapping[str, str], key: str, default: int | None) -> int | None:  # type: ignore[return]
    value = env.get(key, "")
    if value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise EnvironmentContractError(f"{key}={value!r} is not an integer") from None
