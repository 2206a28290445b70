"""Submit targets: the known submit directories, resolving the one asked for, and their closing times."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..environ import (
    NB_SUBMITS,
    NB_SUBMITS_CLOSE,
    VOLUMES_DIR,
    ClosingTimeError,
    UserPaths,
    format_close_time,
    is_past_close,
    parse_close_time,
    parse_close_times,
    parse_entries,
)
from ..errors import IpynbToolsError, os_reason, shown
from ..i18n import _
from ..notebook import read_bytes_safely
from .environment import _environ
from .errors import NotSubmitTargetError, SubmitError, TargetAccessError, UnknownTargetError
from .naming import _safe_component
from .times import _utc

#: A file in the submit volume giving its closing time (:mod:`ipynb_tools.environ.closing`: unix time, or
#: ISO 8601; without a zone the site's zone, ``$IPYNB_TOOLS_TIMEZONE``, UTC when unset).
#: Trusted only when owned by root or by the directory's owner (students can create files there).
CLOSE_FILE = ".ipynb_submit_close"


@dataclass(frozen=True)
class SubmitTarget:
    """A submit directory: access name, path, full volume name, closing time."""

    access: str
    path: Path
    full_name: str | None = None
    close_time: int | None = None
    #: Where it is known from: "env" (NB_SUBMITS), "link" (works directory) or "path" (given).
    source: str = "env"
    closed: bool = False

    @property
    def exists(self) -> bool:
        """The directory is there (False too when it cannot be looked at)."""
        try:
            return stat.S_ISDIR(os.stat(self.path).st_mode)
        except (OSError, ValueError):
            return False

    @property
    def key(self) -> str:
        """A stable name for the history directory."""
        return _safe_component(self.full_name or self.access or self.path.name)

    def close_text(self) -> str:
        return format_close_time(self.close_time) if self.close_time is not None else ""


def _close_from_file(directory: Path, env: Mapping[str, str] | None = None) -> int | None:
    """The closing time written in ``<directory>/.ipynb_submit_close`` by a teacher or root."""
    path = directory / CLOSE_FILE
    try:
        lst = os.lstat(path)
        owner = os.stat(directory).st_uid
    except OSError:
        return None
    if not stat.S_ISREG(lst.st_mode) or lst.st_uid not in (0, owner):
        return None  # planted by a student, or a symlink: ignored
    try:
        raw = read_bytes_safely(path, max_bytes=4096, follow_symlinks=False)[0]
        return parse_close_time(raw.decode("utf-8"), env=env)
    except (IpynbToolsError, ClosingTimeError, ValueError, UnicodeDecodeError):
        return None


def close_time_of(directory: Path, closes: Mapping[str, int], env: Mapping[str, str] | None = None) -> int | None:
    """The closing time (unix seconds) of the submit directory ``directory`` (resolved, no links):
    ``closes`` (``NB_SUBMITS_CLOSE`` parsed) by its volume's full name, the directory's name, else its
    close file (:data:`CLOSE_FILE`, read only when owned by root or the directory's owner); None:
    never closes. Shared by submit (:func:`known_targets`, :func:`resolve_target`) and grading."""
    close = closes.get(directory.name)
    return close if close is not None else _close_from_file(directory, env)


def known_targets(env: Mapping[str, str] | None = None, *, now: datetime | float | None = None) -> list[SubmitTarget]:
    """The submit directories known from ``NB_SUBMITS`` and from links in the works directory.

    A link in the works directory counts when it points to a sticky directory
    (submit volumes are 3777; task volumes are 2775). Closing times come from
    ``NB_SUBMITS_CLOSE`` (by full volume name), else from the volume's
    ``.ipynb_submit_close`` file.
    """
    e = _environ(env)
    works = UserPaths.from_environ(e).works
    closes = parse_close_times(e.get(NB_SUBMITS_CLOSE), env=e)
    moment = _utc(now).timestamp()
    found: list[SubmitTarget] = []
    seen: set[str] = set()

    def add(access: str, path: Path, full: str | None, source: str) -> None:
        real = os.path.realpath(path)
        if real in seen:
            return
        seen.add(real)
        close = closes.get(full) if full else None
        if close is None:
            close = close_time_of(Path(real), closes, e)
        found.append(SubmitTarget(access, path, full, close, source, is_past_close(close, moment)))

    for entry in parse_entries(e.get(NB_SUBMITS)):
        add(entry.link_name, works / entry.mount_relative, entry.full_name, "env")
    try:
        entries = sorted(os.scandir(works), key=lambda d: d.name)
    except OSError:
        entries = []
    for item in entries:
        if not item.is_symlink() or item.name.startswith("."):
            continue
        try:
            st = os.stat(item.path)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX:
            real = Path(os.path.realpath(item.path))
            full = real.name if real.parent.name == VOLUMES_DIR else None
            add(item.name, Path(item.path), full, "link")
    return found


def is_submit_volume(target: SubmitTarget, env: Mapping[str, str] | None = None) -> bool:
    """True for a target that is a course submit volume: one of ``NB_SUBMITS``, or a link in the
    works directory to a directory mounted in ``<works>/.volumes/`` (not any sticky directory)."""
    if target.source == "env":
        return True
    if target.source != "link":
        return False
    volumes = os.path.realpath(UserPaths.from_environ(env).volumes)
    return os.path.dirname(os.path.realpath(target.path)) == volumes


def _directory(path: Path, shown_as: str) -> bool:
    """True when ``path`` is a directory; a path that cannot be looked at is a :class:`TargetAccessError`."""
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except ValueError:  # an embedded NUL
        raise UnknownTargetError(_("unknown submit target %(target)s: not a path") % {"target": shown_as}) from None
    except OSError as exc:
        raise TargetAccessError(
            _("submit target %(target)s: cannot look at it (%(reason)s)")
            % {"target": shown_as, "reason": os_reason(exc)}
        ) from None


def resolve_target(
    target: str | os.PathLike[str] | None,
    env: Mapping[str, str] | None = None,
    *,
    now: datetime | float | None = None,
    known_only: bool = False,
) -> SubmitTarget:
    """An access name, a directory path, or None when exactly one target is known.

    With ``known_only`` (the server extension's submit endpoint, issue 12 item 18) the result is
    always a course submit volume (:func:`is_submit_volume`): a path must lead to one, and any
    other directory (``.``, ``..``, ``~``, a student's own sticky directory) is a
    :class:`NotSubmitTargetError`. Errors quote at most the start of a long ``target``.
    """
    targets = known_targets(env, now=now)
    if known_only:
        targets = [t for t in targets if is_submit_volume(t, env)]
    if target is None or target == "":
        if len(targets) == 1:
            return _check_exists(targets[0])
        if not targets:
            raise UnknownTargetError(
                _(
                    "no submit target known (%(variable)s is empty and %(works)s has no submit links); "
                    "give the submit directory"
                )
                % {"variable": NB_SUBMITS, "works": UserPaths.from_environ(env).works}
            )
        raise UnknownTargetError(_("several submit targets; choose one of: %(targets)s") % {"targets": _names(targets)})
    text = os.fspath(target)
    for t in targets:
        if text in (t.access, t.full_name):
            return _check_exists(t)
    path = Path(text).expanduser()
    if _directory(path, shown(text)):
        real = os.path.realpath(path)
        for t in targets:
            if os.path.realpath(t.path) == real:
                return t
        if known_only:
            raise NotSubmitTargetError(
                _("%(target)s is not a submit volume; hand in to one of: %(targets)s")
                % {"target": shown(text), "targets": _names(targets) or _("(none known)")}
            )
        closes = parse_close_times(_environ(env).get(NB_SUBMITS_CLOSE), env=env)
        close = close_time_of(Path(real), closes, env)
        closed = is_past_close(close, _utc(now).timestamp())
        return SubmitTarget(path.name or text, path, None, close, "path", closed)
    if targets:
        raise UnknownTargetError(
            _("unknown submit target %(target)s; known targets: %(targets)s")
            % {"target": shown(text), "targets": _names(targets)}
        )
    raise UnknownTargetError(
        _("unknown submit target %(target)s (no submit targets known in %(works)s)")
        % {"target": shown(text), "works": UserPaths.from_environ(env).works}
    )


def _names(targets: list[SubmitTarget]) -> str:
    return ", ".join(t.access for t in targets)


def _check_exists(t: SubmitTarget) -> SubmitTarget:
    if not _directory(t.path, repr(t.access)):
        raise SubmitError(
            _("%(target)s: submit directory %(path)s does not exist (volume not mounted?)")
            % {"target": t.access, "path": t.path}
        )
    return t
