"""The setup log: every step's line to stderr (the container log) and to the user's setup log file.

Lines are ``<time> <step>: ok|FAILED: <message>``. Lines logged before the file
is open (the ``user`` and ``home`` steps) are written to it once it is.
The file (``UserPaths.setup_log``, ``~/.ipynb-tools/setup.log``) is owned by
the user, rotated to ``setup.log.1`` past :data:`LOG_MAX_BYTES`, and reopened
fresh when it is not a plain single-link file of the user's.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .directories import clear_for_file, set_aside

LOG_MAX_BYTES = 1 << 20
_APPEND_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


@dataclass
class Step:
    """One logged step: its name (``task <full name>``...), whether it succeeded, what it did or why not."""

    name: str
    ok: bool
    message: str


@dataclass
class SetupReport:
    """All steps of one setup run, and where the log file is (None when it could not be opened)."""

    steps: list[Step] = field(default_factory=list)
    log_path: Path | None = None

    @property
    def failed(self) -> list[Step]:
        return [s for s in self.steps if not s.ok]

    @property
    def ok(self) -> bool:
        return not self.failed


class SetupLog:
    """Log lines to ``echo`` (default stderr) and, once attached, to the user's setup log file."""

    def __init__(self, echo: Callable[[str], None] | None = None) -> None:
        self.fd: int | None = None
        self.pending: list[str] = []
        self.echo = echo if echo is not None else (lambda line: print(line, file=sys.stderr, flush=True))

    def line(self, step: str, ok: bool, message: str) -> None:
        text = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {one_line(step)}: {'ok' if ok else 'FAILED'}: {one_line(message)}"
        self.echo(text)
        if self.fd is None:
            self.pending.append(text)
        else:
            self._write(self.fd, text)

    def attach(self, fd: int) -> None:
        """Start writing to ``fd``; lines logged before are written first."""
        self.fd = fd
        for text in self.pending:
            self._write(fd, text)
        self.pending.clear()

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    @staticmethod
    def _write(fd: int, text: str) -> None:
        with contextlib.suppress(OSError):  # a full disk must not stop setup: the line is on stderr already
            os.write(fd, (text + "\n").encode("utf-8", "replace"))


def one_line(text: str) -> str:
    """``text`` with line breaks and other control characters escaped (``\\n``, ``\\x1b``...).

    Messages carry names a student chooses (a link in the works directory, a file in the
    personal directory); a line break in one must not forge log lines (``... end: ok``).
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def open_log_file(state_fd: int, name: str, *, owner: tuple[int, int], stamp: str) -> int:
    """Open ``name`` in the opened state directory for appending, owned by ``owner``; return the fd.

    Rotates a file past :data:`LOG_MAX_BYTES` (a directory at ``<name>.1`` is set aside first);
    a link, a directory, a hard-linked file or another user's file in its place is removed (or, when it cannot be,
    renamed to a free ``<name>.<stamp>[-n]``) and a fresh file is made.
    """
    try:
        if os.stat(name, dir_fd=state_fd, follow_symlinks=False).st_size > LOG_MAX_BYTES:
            clear_for_file(state_fd, name + ".1", stamp)
            os.replace(name, name + ".1", src_dir_fd=state_fd, dst_dir_fd=state_fd)
    except FileNotFoundError:
        pass
    try:
        fd = os.open(name, _APPEND_FLAGS, 0o644, dir_fd=state_fd)
    except OSError:
        fd = -1
    if fd >= 0:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_uid not in (owner[0], 0):
            os.close(fd)
            fd = -1
    if fd < 0:  # something planted in its place: start a fresh file
        try:
            os.unlink(name, dir_fd=state_fd)
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            set_aside(state_fd, name, stamp)
        fd = os.open(name, _APPEND_FLAGS | os.O_EXCL, 0o644, dir_fd=state_fd)
    try:
        os.fchown(fd, *owner)
    except BaseException:
        os.close(fd)
        raise
    return fd
