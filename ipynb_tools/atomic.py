"""Atomic file replacement by path, with the project's errors: temp file in the same directory, fsync, rename.

A crash, a kill or a full disk leaves either the old file or the new one,
never a partial one. Every tool that writes a file the user cares about
(notebooks, parameter files, manifests, score tables) writes through here.
The system calls (temp file, copy, rename, directory flush) are
:mod:`ipynb_tools.fileops`'s; this module adds the path rules (keep the old
file's mode and owner, refuse a symlink or a directory) and turns failures
into one :class:`~ipynb_tools.errors.WriteError` line.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from .errors import SymlinkError, WriteError, os_reason
from .fileops import TEMP_SUFFIX, copy_fd, fsync_directory, open_temp, rename_into_place, unlink_quiet, write_all
from .i18n import _

__all__ = [
    "TEMP_SUFFIX",
    "atomic_copy_file",
    "atomic_write_bytes",
    "atomic_write_from",
    "atomic_write_text",
    "current_umask",
]


def current_umask() -> int:
    """The process umask (read without changing it for longer than a call)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(
    path: str | os.PathLike[str],
    data: bytes,
    *,
    mode: int | None = None,
    replace_symlink: bool = False,
) -> None:
    """Replace ``path`` with ``data`` atomically (see :func:`atomic_write_from`)."""
    atomic_write_from(path, lambda fd: write_all(fd, data), mode=mode, replace_symlink=replace_symlink)


def atomic_copy_file(
    source: str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    mode: int | None = None,
) -> None:
    """Copy ``source`` over ``path`` atomically, in the kernel (large data files never sit in memory)."""

    def write(fd: int) -> None:
        with open(source, "rb") as src:
            copy_fd(src.fileno(), fd, os.fstat(src.fileno()).st_size)

    atomic_write_from(path, write, mode=mode)


def atomic_write_from(
    path: str | os.PathLike[str],
    write: Callable[[int], None],
    *,
    mode: int | None = None,
    replace_symlink: bool = False,
) -> None:
    """Replace ``path`` atomically with what ``write(fd)`` writes to a temp file.

    The new file keeps the mode (and, when run as root, the owner) of the file
    it replaces; a new file gets ``mode`` or ``0o666 & ~umask``. ``mode`` given
    explicitly always wins. A symlink at ``path`` is refused unless
    ``replace_symlink``: renaming over it would silently turn a link into a
    file, and writing through it could write somewhere the caller did not mean.
    Raises :class:`WriteError` (or :class:`SymlinkError`) with the old file unchanged.
    """
    target = Path(path)
    directory = target.parent
    old: os.stat_result | None
    try:
        old = os.lstat(target)
    except FileNotFoundError:
        old = None
    except OSError as exc:
        raise WriteError(target, os_reason(exc)) from exc
    if old is not None and stat.S_ISLNK(old.st_mode) and not replace_symlink:
        raise SymlinkError(target, _("is a symlink; refusing to replace it"))
    if old is not None and stat.S_ISDIR(old.st_mode):
        raise WriteError(target, _("is a directory"))
    if old is not None and not stat.S_ISREG(old.st_mode) and not stat.S_ISLNK(old.st_mode):
        # renaming over a device, FIFO or socket would replace it with a plain file: as root,
        # `... -o /dev/null` would leave the machine without a /dev/null
        raise WriteError(target, _("is not a regular file (a device, FIFO or socket); refusing to replace it"))

    if mode is None:
        mode = stat.S_IMODE(old.st_mode) if old is not None and stat.S_ISREG(old.st_mode) else 438 & ~current_umask()

    try:
        fd, tmp = open_temp(str(target))
    except OSError as exc:
        raise WriteError(
            target,
            _("cannot create a temporary file in %(directory)s: %(reason)s")
            % {"directory": directory, "reason": os_reason(exc)},
        ) from exc
    try:
        try:
            write(fd)
            if old is not None and stat.S_ISREG(old.st_mode) and os.geteuid() == 0:
                os.fchown(fd, old.st_uid, old.st_gid)
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        rename_into_place(tmp, str(target))
    except BaseException as exc:
        unlink_quiet(tmp)
        if isinstance(exc, OSError):
            raise WriteError(
                target, _("write failed (%(reason)s); the old file is unchanged") % {"reason": os_reason(exc)}
            ) from exc
        raise
    fsync_directory(directory)


def atomic_write_text(
    path: str | os.PathLike[str], text: str, *, mode: int | None = None, replace_symlink: bool = False
) -> None:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode, replace_symlink=replace_symlink)
