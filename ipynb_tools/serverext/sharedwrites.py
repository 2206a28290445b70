"""Saving a file in a shared folder without Jupyter's copy of it beside it (issue 12, item 19's kind).

jupyter_server saves a file "atomically" (``jupyter_server.services.contents.fileio.atomic_writing``)
by first copying its current content to ``.~<name>`` beside it with ``shutil.copyfile``, which
follows a link at that name and writes into a file already there. In a submit volume (3777) a
classmate plants a link to a file of theirs at ``.~kadai-1_alice.ipynb``, or a 0666 file of that
name; when Alice saves her hand-in in JupyterLab, her previous version lands in the classmate's
file (tested with real uids: the classmate read the whole notebook). ``use_atomic_writing=False``
(``open(path, "w")``) and a planted dangling link at a new file's name (``Untitled.ipynb``) write
through links the same way.

So a file whose folder is shared (:func:`ipynb_tools.serverext.checkpoints.is_shared_folder`:
submit and task volumes) is saved by :func:`shared_atomic_writing` instead: the file is opened
without following a link and checked to be a regular file (a link or anything else at its name
is refused, 403), its old content is kept in a temp file of the project's
(:func:`ipynb_tools.fileops.open_temp`: a new file, ``O_EXCL|O_NOFOLLOW``, mode 0600, never a
planted name), the file is written in place through the same descriptor (its owner and mode
kept, as jupyter_server does), the old content is put back when the write fails and the temp
file removed when it succeeds. Files in the user's own folders keep jupyter_server's writing.
:func:`use_safe_shared_writes` puts this in place on the server's contents manager when the
extension loads.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from ..fileops import copy_fd, open_temp, unlink_quiet
from .checkpoints import is_shared_folder

#: How the file to save is opened: read (for the backup) and write, never through a link, never waiting on a FIFO.
_TARGET_FLAGS = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _open_target(name: str, dir_fd: int) -> tuple[int, bool]:
    """``name`` in ``dir_fd`` opened for reading and writing, made when missing; ``(fd, existed)``.

    Raises ``PermissionError`` (jupyter_server answers 403) for a link or anything but a regular
    file at the name, other ``OSError`` as the system gives them.
    """
    try:
        try:
            fd, existed = os.open(name, _TARGET_FLAGS, dir_fd=dir_fd), True
        except FileNotFoundError:
            fd, existed = os.open(name, _TARGET_FLAGS | os.O_CREAT | os.O_EXCL, 0o666, dir_fd=dir_fd), False
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO, errno.EISDIR, errno.EEXIST):
            # ELOOP: a link (planted by a classmate, or dangling to where they can read); ENXIO: a FIFO
            raise PermissionError(errno.EACCES, "not a regular file of its own in a shared folder", name) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise PermissionError(errno.EACCES, "not a regular file of its own in a shared folder", name)
    return fd, existed


@contextmanager
def shared_atomic_writing(path: str, text: bool = True, encoding: str = "utf-8", **kwargs: Any) -> Iterator[IO[Any]]:
    """Write ``path`` (in a shared folder) in place, with its old content kept in a private temp file
    until the write is done: ``jupyter_server``'s ``atomic_writing`` without its ``.~<name>`` copy.

    Yields a file object opened for text (``encoding``, Unix line ends unless ``newline`` is
    given) or bytes; ``kwargs`` go to :func:`os.fdopen` (``log`` is ignored). When the ``with``
    body raises, the old content is put back (the temp file renamed over ``path``) and the error
    re-raised. Raises ``PermissionError`` for a link, FIFO or directory at ``path``.
    """
    kwargs.pop("log", None)
    folder, name = os.path.split(path)
    dir_fd = os.open(folder or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fd, existed = _open_target(name, dir_fd)
        backup: str | None = None
        try:
            if existed:
                temp_fd, backup = open_temp(name, dir_fd=dir_fd, mode=0o600)
                try:
                    copy_fd(fd, temp_fd, os.fstat(fd).st_size)
                finally:
                    os.close(temp_fd)
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
        except BaseException:
            os.close(fd)
            if backup is not None:
                unlink_quiet(backup, dir_fd=dir_fd)
            raise
        if text:
            kwargs.setdefault("newline", "\n")
            fileobj: IO[Any] = os.fdopen(fd, "w", encoding=encoding, **kwargs)
        else:
            fileobj = os.fdopen(fd, "wb", **kwargs)
        try:
            yield fileobj
            fileobj.flush()
            os.fsync(fileobj.fileno())
        except BaseException:
            fileobj.close()
            if backup is not None:
                os.replace(backup, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            raise
        fileobj.close()
        if backup is not None:
            unlink_quiet(backup, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)


def use_safe_shared_writes(contents_manager: Any) -> None:
    """Make ``contents_manager`` (jupyter_server's file contents manager) save files in shared folders
    with :func:`shared_atomic_writing`; files elsewhere keep its own ``atomic_writing``.

    Its ``atomic_writing`` method is replaced on the instance (jupyter_server has no setting for
    it); it is what both its notebook and file saves, sync and async, call.
    """
    original = contents_manager.atomic_writing

    @contextmanager
    def atomic_writing(os_path: str, *args: Any, **kwargs: Any) -> Iterator[IO[Any]]:
        if not is_shared_folder(os.path.dirname(os_path) or "."):
            with original(os_path, *args, **kwargs) as fileobj:
                yield fileobj
            return
        with contents_manager.perm_to_403(os_path), shared_atomic_writing(os_path, *args, **kwargs) as fileobj:
            yield fileobj

    contents_manager.atomic_writing = atomic_writing
