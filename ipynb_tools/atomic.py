"""Atomic file replacement: temp file in the same directory, fsync, rename.

A crash, a kill or a full disk leaves either the old file or the new one,
never a partial one. Every tool that writes a file the user cares about
(notebooks, parameter files, manifests, score tables) writes through here.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from .errors import SymlinkError, WriteError

TEMP_SUFFIX = ".ipynb-tools-tmp"


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

    def write(fd: int) -> None:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]

    atomic_write_from(path, write, mode=mode, replace_symlink=replace_symlink)


def atomic_copy_file(
    source: str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    mode: int | None = None,
) -> None:
    """Copy ``source`` over ``path`` atomically, streaming (large data files never sit in memory)."""

    def write(fd: int) -> None:
        with open(source, "rb") as src:
            offset = 0
            try:
                while sent := os.sendfile(fd, src.fileno(), offset, 1 << 24):
                    offset += sent
            except OSError as exc:
                if offset or exc.errno not in (errno.EINVAL, errno.ENOSYS):
                    raise
                while chunk := src.read(1 << 20):  # filesystems without sendfile
                    os.write(fd, chunk)

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
    """
    target = Path(path)
    directory = target.parent
    old: os.stat_result | None
    try:
        old = os.lstat(target)
    except FileNotFoundError:
        old = None
    except OSError as exc:
        raise WriteError(target, exc.strerror or str(exc)) from exc
    if old is not None and stat.S_ISLNK(old.st_mode) and not replace_symlink:
        raise SymlinkError(target, "is a symlink; refusing to replace it")
    if old is not None and stat.S_ISDIR(old.st_mode):
        raise WriteError(target, "is a directory")

    if mode is None:
        if old is not None and stat.S_ISREG(old.st_mode):
            mode = stat.S_IMODE(old.st_mode)
        else:
            mode = 0o666 & ~current_umask()

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=directory)
    except OSError as exc:
        raise WriteError(target, f"cannot create a temporary file in {directory}: {exc.strerror or exc}") from exc
    try:
        try:
            write(fd)
            if old is not None and stat.S_ISREG(old.st_mode) and os.geteuid() == 0:
                os.fchown(fd, old.st_uid, old.st_gid)
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            reason = "disk full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
            raise WriteError(target, f"write failed ({reason}); the old file is unchanged") from exc
        raise
    fsync_directory(directory)


def atomic_write_text(path: str | os.PathLike[str], text: str, **kwargs: object) -> None:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"), **kwargs)  # type: ignore[arg-type]


def fsync_directory(directory: str | os.PathLike[str]) -> None:
    """Make a rename in ``directory`` durable (best effort: some filesystems refuse)."""
    try:
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        fsync_directory_fd(dfd)
    finally:
        os.close(dfd)


def fsync_directory_fd(dfd: int) -> None:
    """:func:`fsync_directory` for a directory already open (the caller closes ``dfd``)."""
    try:
        os.fsync(dfd)
    except OSError:
        pass
