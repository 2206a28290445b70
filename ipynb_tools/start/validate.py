"""Checking every value setup (root) takes from the start environment, before anything is changed.

``setup`` runs as root on values the hub passes (issue 12, item 12): a user name holding a
line break and colons would write an extra line, a uid-0 login, into the container's
``passwd``/``shadow``; ``NB_HOME=/etc`` would hand ``/etc`` to the user. So
:func:`environment_problems` checks every value :class:`ipynb_tools.environ.StartEnvironment`
carries that setup uses, and :func:`check_environment` refuses the whole run with one message
naming each bad value; :func:`ipynb_tools.start.setup` calls it first, so a refused environment
changes nothing.

The rules:

- user and group names (``NB_USER``, ``NB_GROUP``, ``NB_THRGROUP``):
  :func:`ipynb_tools.usernames.user_name_problem` (the one user-name rule: no ``:``, white space,
  control characters, ``/``; not ``.``/``..``; no leading ``-``/``.``);
- not the name of an existing system account (a ``passwd`` entry with a uid up to
  :data:`SYSTEM_ID_MAX`), nor of an existing system group for the teachers' group;
- ids: whole numbers up to :data:`MAX_ID`; the user's uid and the teachers' gid above
  :data:`SYSTEM_ID_MAX` (Debian's ``login.defs``: ``SYS_UID_MAX``/``SYS_GID_MAX`` 999), the user's
  gid too except the shared ``users`` group (:data:`USERS_GID`, docker-stacks' default), never
  ``nobody``/``nogroup`` (:data:`NOBODY_ID`);
- paths: the home absolute and normal (no ``.``, ``..`` or empty component), no ``:`` or control
  character (it is a ``passwd`` field), at least two components and not inside a system
  directory (:data:`SYSTEM_DIRS`); the works directory the home or inside it, by the same rules;
- volume entries: course volume full names (:func:`ipynb_tools.volumes.naming.is_full_name`),
  access names without control characters.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path, PurePosixPath

from ..environ import StartEnvironment
from ..usernames import user_name_problem
from ..volumes.naming import is_full_name
from .errors import SetupError

#: The highest uid/gid of system accounts (Debian's login.defs SYS_UID_MAX, SYS_GID_MAX).
SYSTEM_ID_MAX = 999
#: The shared ``users`` group: the one system-range gid a user's primary group may be.
USERS_GID = 100
#: ``nobody``/``nogroup``.
NOBODY_ID = 65534
#: The largest id (``uid_t`` is 32 bits; ``(uid_t)-1`` means "no change" to the kernel).
MAX_ID = 2**32 - 2
#: Top-level directories a home or works directory may not be in.
SYSTEM_DIRS = frozenset(
    {"bin", "boot", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "root", "run", "sbin", "sys", "usr"}
)


class SetupEnvironmentError(SetupError):
    """The start environment has values setup refuses to act on (nothing was changed)."""

    exit_code = 2


def _control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") for ch in text)


def _read_ids(path: Path) -> dict[str, int]:
    """``name -> id`` of a passwd/group file (missing file: empty); unreadable lines are skipped."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return {}
    ids: dict[str, int] = {}
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) > 2 and fields[2].isdigit():
            ids.setdefault(fields[0], int(fields[2]))
    return ids


def path_problem(path: Path | None, what: str) -> str | None:
    """Why ``path`` cannot be a home or works directory (a few words), or None when it can."""
    if path is None:
        return None
    text = str(path)
    if _control(text) or ":" in text:
        return f"{what} {text!r} contains a control character or ':'"
    if not text.startswith("/"):
        return f"{what} {text!r} is not an absolute path"
    parts = text.split("/")[1:]
    if any(p in ("", ".", "..") for p in parts):
        return f"{what} {text!r} is not a normal path (empty, '.' or '..' component)"
    if len(parts) < 2:
        return f"{what} {text!r} is too close to the root"
    if parts[0] in SYSTEM_DIRS:
        return f"{what} {text!r} is inside the system directory /{parts[0]}"
    return None


def _id_problem(name: str, value: int, *, low_ok: tuple[int, ...] = ()) -> str | None:
    if not 0 <= value <= MAX_ID:
        return f"{name}={value} is out of range"
    if value == NOBODY_ID:
        return f"{name}={value} is nobody/nogroup"
    if value <= SYSTEM_ID_MAX and value not in low_ok:
        return f"{name}={value} is a system id (at most {SYSTEM_ID_MAX})"
    return None


def id_problems(env: StartEnvironment) -> list[str]:
    """The problems of the ids in ``env`` (the user's uid and gid, the teachers' gid), each as a few words."""
    problems = []
    for key, value, low in (
        ("NB_UID", env.uid, ()),
        ("NB_GID", env.gid, (USERS_GID,)),
        ("NB_THRGID", env.teachers_gid, ()),
    ):
        why = _id_problem(key, value, low_ok=low)
        if why:
            problems.append(why)
    return problems


def environment_problems(env: StartEnvironment, etc: Path) -> list[str]:
    """Every value of ``env`` setup must not act on, each as a few words (empty: all good).

    ``etc`` is where the container's ``passwd`` and ``group`` are (for the system accounts).
    """
    problems: list[str] = []
    for key, name in (("NB_USER", env.user), ("NB_THRGROUP", env.teachers_group), ("NB_GROUP", env.group)):
        if name is None:  # NB_GROUP not passed
            continue
        why = user_name_problem(name)
        if why:
            problems.append(f"{key}={name!r} {why}")
    problems += id_problems(env)
    users = _read_ids(etc / "passwd")
    if env.user in users and users[env.user] <= SYSTEM_ID_MAX:
        problems.append(f"NB_USER={env.user!r} is an existing system account (uid {users[env.user]})")
    groups = _read_ids(etc / "group")
    if env.teachers_group in groups and groups[env.teachers_group] <= SYSTEM_ID_MAX:
        problems.append(
            f"NB_THRGROUP={env.teachers_group!r} is an existing system group (gid {groups[env.teachers_group]})"
        )
    paths = env.paths
    home_why = path_problem(paths.home, "NB_HOME")
    if home_why:
        problems.append(home_why)
    works_why = path_problem(paths.works, "NB_WRKDIR")
    if works_why:
        problems.append(works_why)
    elif not home_why and not PurePosixPath(paths.works).is_relative_to(PurePosixPath(paths.home)):
        problems.append(f"NB_WRKDIR={str(paths.works)!r} is not inside the home {str(paths.home)!r}")
    for kind, entry in env.entries():
        if not is_full_name(entry.full_name):
            problems.append(f"{kind.name.lower()} volume {entry.full_name!r} is not a course volume's full name")
        if _control(entry.access):
            problems.append(f"{kind.name.lower()} volume {entry.full_name!r}: access name contains a control character")
    return problems


def check_environment(env: StartEnvironment, etc: Path) -> None:
    """Raise :class:`SetupEnvironmentError` naming every problem of :func:`environment_problems`."""
    problems = environment_problems(env, etc)
    if problems:
        raise SetupEnvironmentError("refusing to set up, nothing changed: " + "; ".join(problems))
