"""The descriptor-level file toolkit: every open, read, hash, temp-and-rename and flush of the project.

SPEC 2 ("nothing is lost, nothing is forged"): files a student controls are
opened without following a final symlink and without blocking on a FIFO
(:data:`READ_FLAGS`), and checked to be regular files on the open descriptor
(:func:`open_regular`), so a link or a pipe planted between a check and the
open is never read through. Writes go to a hidden temp file beside the target
(:func:`open_temp`: ``O_EXCL|O_NOFOLLOW``, never an existing name) and are
renamed over it (:func:`rename_into_place`), so a reader sees the old file or
the new one, never a part.

Every function takes a path, or a name plus ``dir_fd`` (a directory already
open, as ``setup`` and submit hold them). Errors are the ``OSError`` the
system call raised; callers turn them into the project's one-line messages
(:func:`ipynb_tools.errors.os_reason`). Path-level atomic replacement with
the user-facing errors is :mod:`ipynb_tools.atomic`, built on this module.
Standard library only (in-container commands import it at start).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import os
import re
import stat
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ctypes

#: The suffix of every temp file the tools write beside a target; a leftover is removed by the next run.
TEMP_SUFFIX = ".ipynb-tools-tmp"
#: Flags of every read of a file that may be a student's: no final symlink, no blocking on a FIFO.
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
#: Flags of a new temp file: created here and now, never through a link.
TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
#: Read size (bytes).
CHUNK = 1 << 20

_temp_counter = itertools.count(1)  # next() on a count is atomic under the GIL: names unique per process

PathLike = str | os.PathLike[str]


class NotRegularFileError(OSError):
    """The descriptor opened is not a regular file (a directory, FIFO, device or socket)."""

    def __init__(self, path: PathLike) -> None:
        super().__init__(errno.EINVAL, "not a regular file", os.fspath(path))


# -- opening and reading ------------------------------------------------------------------------


def open_no_follow(path: PathLike, *, dir_fd: int | None = None, flags: int = READ_FLAGS, mode: int = 0o600) -> int:
    """Open ``path`` (relative to ``dir_fd`` when given) with ``O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC`` added.

    A symlink as the last component raises ``OSError(ELOOP)``; a FIFO opens at once
    instead of waiting for a writer. ``mode`` applies when ``flags`` has ``O_CREAT``.
    The caller closes the descriptor.
    """
    return os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, mode, dir_fd=dir_fd)


def open_regular(path: PathLike, *, dir_fd: int | None = None) -> tuple[int, os.stat_result]:
    """:func:`open_no_follow` for reading, then check on the descriptor that it is a regular file.

    Returns ``(fd, fstat)``; raises :class:`NotRegularFileError` (an ``OSError``) for anything
    else, with the descriptor closed. The caller closes ``fd``.
    """
    fd = open_no_follow(path, dir_fd=dir_fd)
    try:
        st = os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise NotRegularFileError(path)
    return fd, st


def read_all(fd: int, limit: int | None = None) -> bytes:
    """Everything from the descriptor's position to its end; with ``limit``, at most ``limit`` bytes.

    A size checked with ``fstat`` does not bound the read of a file its owner can still write
    (a ``truncate`` to 4 GB between the check and the read): pass the size the caller accepts
    plus one and treat a longer result as too large.
    """
    chunks = []
    left = -1 if limit is None else limit
    while left and (chunk := os.read(fd, CHUNK if left < 0 else min(CHUNK, left))):
        chunks.append(chunk)
        left = left - len(chunk) if left > 0 else left
    return b"".join(chunks)


def read_file(path: PathLike, *, dir_fd: int | None = None) -> bytes:
    """The bytes of a regular file, opened with :func:`open_regular` (no link followed, no FIFO waited on)."""
    fd, _ = open_regular(path, dir_fd=dir_fd)
    try:
        return read_all(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` (``os.write`` may write less than asked)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# -- hashing ------------------------------------------------------------------------------------------


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of ``data`` as 64 lowercase hex digits (what manifests, receipts and records store)."""
    return hashlib.sha256(data).hexdigest()


def sha256_fd(fd: int, size: int | None = None) -> str:
    """The SHA-256 (hex) of the rest of an open file, read in :data:`CHUNK` pieces into one buffer.

    ``size`` (bytes, when known) sizes the buffer: a small file then costs no 1 MiB buffer
    (a zeroed megabyte per file would cost a first sync of many small files a tenth of its time).
    """
    h = hashlib.sha256()
    buf = bytearray(CHUNK if size is None else max(1, min(CHUNK, size + 1)))
    view = memoryview(buf)
    while n := os.readv(fd, [buf]):
        h.update(view[:n])
    return h.hexdigest()


def hash_file(path: PathLike, *, dir_fd: int | None = None) -> str:
    """The SHA-256 (hex) of a regular file opened with :func:`open_regular`; ``OSError`` when it cannot be."""
    fd, st = open_regular(path, dir_fd=dir_fd)
    try:
        return sha256_fd(fd, st.st_size)
    finally:
        os.close(fd)


# -- copying ----------------------------------------------------------------------------------------


def copy_fd(src_fd: int, dst_fd: int, size: int | None = None) -> None:
    """Copy from the current positions to the end without passing the bytes through Python.

    ``copy_file_range`` first (one in-kernel copy, as ``cp`` does, when ``size`` is given);
    where the filesystem refuses it, ``sendfile`` goes on from wherever it stopped (both
    calls move the file positions); where that is refused too before any byte moved
    (``EINVAL``/``ENOSYS``), plain reads and writes.
    """
    if size:
        left = size
        try:
            while left > 0 and (n := os.copy_file_range(src_fd, dst_fd, left)):
                left -= n
        except OSError:
            pass
    try:
        while os.sendfile(dst_fd, src_fd, None, 1 << 24):
            pass
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOSYS):
            raise
        while chunk := os.read(src_fd, CHUNK):
            write_all(dst_fd, chunk)


def copy_and_hash(src_fd: int, dst_fd: int) -> str:
    """Copy ``src_fd`` to ``dst_fd`` and return the SHA-256 (hex) of the bytes (one read of each byte).

    (A memory-mapped hash plus ``copy_file_range`` measured no faster, on tmpfs or ext4.)
    """
    h = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    while n := os.readv(src_fd, [buf]):
        h.update(view[:n])
        chunk = view[:n]
        while chunk:
            chunk = chunk[os.write(dst_fd, chunk) :]
    return h.hexdigest()


# -- write to a temp file, then rename -----------------------------------------------------------------


#: pid -> the first ``n`` :func:`temp_name` gave under that pid (a forked child keeps its parent's
#: counter, so each pid's names are ``n`` from its first up to the counter's next value).
_first_issued: dict[int, int] = {}


def temp_name(name: str) -> str:
    """A fresh hidden temp name for ``name``: ``.<name>.<pid>-<n>`` + :data:`TEMP_SUFFIX`."""
    n = next(_temp_counter)
    pid = os.getpid()
    _first_issued.setdefault(pid, n)
    return f".{name}.{pid}-{n}{TEMP_SUFFIX}"


def _issued_here(n: int) -> bool:
    """True when this process may have made the temp name numbered ``n`` (its pid being this one's)."""
    first = _first_issued.get(os.getpid())
    return first is not None and first <= n < next(_temp_counter)


#: The names :func:`temp_name` makes: ``.<name>.<pid>-<n>`` + :data:`TEMP_SUFFIX`.
TEMP_NAME_RE = re.compile(r"\..+\.(?P<pid>\d+)-(?P<n>\d+)" + re.escape(TEMP_SUFFIX))
#: A temp file older than this (seconds) is stale even when its pid is alive (pids are reused).
STALE_TEMP_AGE = 24 * 3600


def remove_stale_temps(directory: PathLike | int, *, now: float | None = None) -> list[str]:
    """Remove the temp files a killed writer of this user left in ``directory``; return their names.

    ``directory`` is a path or an open directory descriptor (sync works through those: a
    directory a student replaced by a link is never listed or cleaned through).
    A temp file (a name :func:`temp_name` makes) is stale when it is a regular file owned by
    this user and its writer is gone: the pid in its name is no running process, or the file is
    older than :data:`STALE_TEMP_AGE` (a write never takes a day; a pid may be reused after a
    container restart). A name with this very process's pid is stale unless this process made it
    (:func:`_issued_here`): a container's start runs the same processes in the same order, so the
    sync of the next start often has the pid of the sync a stop killed, and took that sync's temp
    files for its own (a day of litter, as large as the task's data). Another user's files, links
    and a live writer's temp files are left alone. Nothing is followed; errors are ignored
    (cleaning is best effort).
    """
    now = time.time() if now is None else now
    dir_fd = directory if isinstance(directory, int) else None
    folder = "" if isinstance(directory, int) else os.fspath(directory)
    removed: list[str] = []
    try:
        names = [n for n in os.listdir(directory) if n.endswith(TEMP_SUFFIX)]
    except OSError:
        return removed
    for name in names:
        match = TEMP_NAME_RE.fullmatch(name)
        if not match:
            continue
        path = name if dir_fd is not None else os.path.join(folder, name)
        try:
            st = os.stat(path, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            continue
        pid = int(match.group("pid"))
        alive = _issued_here(int(match.group("n"))) if pid == os.getpid() else _process_alive(pid)
        if alive and now - st.st_mtime < STALE_TEMP_AGE:
            continue
        try:
            os.unlink(path, dir_fd=dir_fd)
        except OSError:
            continue
        removed.append(name)
    return removed


def _process_alive(pid: int) -> bool:
    """True when ``pid`` is a running process (a zombie, killed but not yet reaped, writes nothing)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone's process (or not a pid we can ask about): assume alive
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read(4096).rpartition(b")")[2].split(None, 1)[:1]
    except OSError:
        return True  # no /proc: as kill() said
    return state != [b"Z"]


def open_temp(target: str, *, dir_fd: int | None = None, mode: int = 0o600) -> tuple[int, str]:
    """Create a temp file beside ``target`` (``O_EXCL|O_NOFOLLOW``); return ``(fd, temp path)``.

    Cheaper than ``tempfile.mkstemp``'s random names, and as safe: the name is unique to
    this process, and ``O_EXCL`` refuses anything already there (another process's file
    or a planted link), in which case the next name is tried. The temp path is in the
    same form as ``target`` (relative to ``dir_fd`` when given).
    """
    head, sep, name = target.rpartition("/")
    while True:
        temp = f"{head}{sep}{temp_name(name)}"
        try:
            return os.open(temp, TEMP_FLAGS, mode, dir_fd=dir_fd), temp
        except FileExistsError:
            continue


def rename_into_place(temp: str, target: str, *, dir_fd: int | None = None, replace: bool = True) -> None:
    """Rename ``temp`` over ``target`` (atomic); on failure the temp file is removed and the error raised.

    ``replace=False``: only where nothing is at ``target``; ``FileExistsError`` otherwise (Linux
    ``renameat2(RENAME_NOREPLACE)``; a link then an unlink of ``temp`` where the filesystem lacks
    it), so a file someone made at the name meanwhile is never replaced.
    """
    try:
        if replace:
            os.replace(temp, target, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        else:
            rename_no_replace(temp, target, dir_fd)
    except BaseException:
        unlink_quiet(temp, dir_fd=dir_fd)
        raise


_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_libc: ctypes.CDLL | None = None  # loaded on the first native call: ctypes is not imported at start


def load_native_calls() -> None:
    """Import what the native calls here (renameat2, statx, syncfs) load on first use: ``ctypes``.

    For a process about to drop to a user (:func:`ipynb_tools.start.privileges.run_as`): that user may
    not be able to read the interpreter's library, so an import after the drop fails ("No module named
    'ctypes'"). Start-up of commands that never drop (``ipynb_submit``) does not pay for it.
    """
    import ctypes  # noqa: F401


def _c_library() -> ctypes.CDLL:
    """The process's C library, loaded once for every native call here (renameat2, statx, syncfs,
    prctl); ``renameat2`` typed on loading (a typed call is cheaper). Raises ``OSError``."""
    global _libc
    import ctypes  # here, not at import: only the native calls need it

    if _libc is None:
        libc = ctypes.CDLL(None, use_errno=True)
        with contextlib.suppress(AttributeError):  # no renameat2 in this C library: rename_no_replace falls back
            c_int, c_char_p = ctypes.c_int, ctypes.c_char_p
            libc.renameat2.argtypes = [c_int, c_char_p, c_int, c_char_p, ctypes.c_uint]
            libc.renameat2.restype = c_int
        _libc = libc
    return _libc


def die_with_parent(parent: int, sig: int) -> None:
    """Have the kernel send this process ``sig`` when its parent dies (Linux ``prctl(PR_SET_PDEATHSIG)``),
    for a child forked by ``parent`` (its pid); end at once (``os._exit(1)``) when the parent is already
    gone (it died before the call). Where the call is missing the child simply lives on.
    """
    with contextlib.suppress(OSError, AttributeError):
        _c_library().prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


_PR_SET_PDEATHSIG = 1


def rename_no_replace(temp: str, target: str, dir_fd: int | None) -> None:
    """Rename ``temp`` to ``target`` (in ``dir_fd``) only where nothing is at ``target``; else ``FileExistsError``.

    Linux ``renameat2(RENAME_NOREPLACE)``: one atomic step, so a file or directory someone makes
    at ``target`` meanwhile is never replaced. Where the C library or the filesystem lacks it, a
    link then an unlink of ``temp`` (files); a directory is then renamed after a check (a race
    remains there). ``temp`` is left where it is on failure. Raises ``OSError``.
    """
    import ctypes

    fd = _AT_FDCWD if dir_fd is None else dir_fd
    try:
        failed = _c_library().renameat2(fd, os.fsencode(temp), fd, os.fsencode(target), _RENAME_NOREPLACE) != 0
        err = ctypes.get_errno() if failed else 0
    except (OSError, AttributeError):  # no renameat2 in this C library
        err = errno.ENOSYS
    if not err:
        return
    if err not in (errno.ENOSYS, errno.EINVAL):
        raise OSError(err, os.strerror(err), target)
    try:
        os.link(temp, target, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
    except PermissionError:  # a directory (or no hard links here)
        with contextlib.suppress(FileNotFoundError):
            os.stat(target, dir_fd=dir_fd, follow_symlinks=False)
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), target) from None
        os.rename(temp, target, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        return
    unlink_quiet(temp, dir_fd=dir_fd)


def replace_file(target: str, data: bytes, *, mode: int, dir_fd: int | None = None, fsync: bool = True) -> None:
    """Replace ``target`` by a file holding ``data`` with ``mode``: temp file, fsync, rename.

    ``fsync=False`` leaves the flush to the caller (one ``syncfs`` for many files).
    No symlink is followed (the rename replaces a link at ``target``, it never writes
    through it). Raises ``OSError``; the old file is then unchanged and no temp file is left.
    """
    fd, temp = open_temp(target, dir_fd=dir_fd, mode=mode)
    try:
        try:
            write_all(fd, data)
            os.fchmod(fd, mode)
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        unlink_quiet(temp, dir_fd=dir_fd)
        raise
    rename_into_place(temp, target, dir_fd=dir_fd)


def unlink_quiet(path: PathLike, *, dir_fd: int | None = None) -> None:
    """Remove ``path`` if it can be removed; never raises ``OSError`` (clean-up after a failure)."""
    with contextlib.suppress(OSError):
        os.unlink(path, dir_fd=dir_fd)


# -- mounts ------------------------------------------------------------------------------------------------

_STATX_MNT_ID = 0x1000
_STATX_ATTR_MOUNT_ROOT = 0x2000
_AT_EMPTY_PATH = 0x1000
_STATX_SIZE = 256
_STATX_ATTRIBUTES = slice(8, 16)
_STATX_ATTRIBUTES_MASK = slice(56, 64)


def is_mount_root(fd: int) -> bool:
    """True when the open directory ``fd`` is the root of a mount (a volume mounted there).

    Asked of the descriptor, never of a path: ``statx(fd, "", AT_EMPTY_PATH)``'s
    ``STATX_ATTR_MOUNT_ROOT`` (Linux 5.8+); where the kernel does not report that attribute,
    the device of ``fd`` compared with the device of its parent (``..``), which tells a
    mount of another filesystem, not a bind mount of the same one. A directory that merely
    exists where a volume should be mounted is not a mount root.
    """
    import ctypes

    try:
        buf = ctypes.create_string_buffer(_STATX_SIZE)
        if _c_library().statx(fd, b"", _AT_EMPTY_PATH, _STATX_MNT_ID, buf) == 0:
            raw = buf.raw
            mask = int.from_bytes(raw[_STATX_ATTRIBUTES_MASK], sys.byteorder)
            if mask & _STATX_ATTR_MOUNT_ROOT:
                return bool(int.from_bytes(raw[_STATX_ATTRIBUTES], sys.byteorder) & _STATX_ATTR_MOUNT_ROOT)
    except (OSError, AttributeError):
        pass
    return os.fstat(fd).st_dev != os.stat("..", dir_fd=fd).st_dev


# -- durability ------------------------------------------------------------------------------------------


def fsync_directory(directory: PathLike) -> None:
    """Make a rename in ``directory`` durable (best effort: some filesystems refuse)."""
    try:
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        fsync_directory_fd(dfd)
    finally:
        os.close(dfd)


def fsync_directory_fd(dfd: int) -> None:
    """:func:`fsync_directory` for a directory already open (the caller closes ``dfd``)."""
    with contextlib.suppress(OSError):
        os.fsync(dfd)


def syncfs(path: PathLike) -> None:
    """Flush the filesystem holding ``path`` once (cheaper than an fsync per file); ``sync()`` as fallback."""
    try:
        libc = _c_library()
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            if libc.syncfs(fd) != 0:
                os.sync()
        finally:
            os.close(fd)
    except (OSError, AttributeError):
        os.sync()
