"""The project's exception classes.

Every error a user can cause is one of these. ``str(error)`` is a single line
that names the file (or the thing) and the problem; the command-line edge
(:mod:`ipynb_tools.cli.errors`) prints it and exits with ``exit_code``.
Domain packages subclass these where they need finer types.
"""

from __future__ import annotations

import errno
import os

from .i18n import _


class IpynbToolsError(Exception):
    """Base class of every error this project raises on purpose."""

    exit_code: int = 1


class UsageError(IpynbToolsError):
    """The command was called in a way that cannot work (bad combination of arguments)."""

    exit_code = 2


class FileProblem(IpynbToolsError):
    """A problem with one file: the message is ``<path>: <problem>``."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class NotebookError(FileProblem):
    """A file that should be a notebook cannot be used as one."""


class NotJSONError(NotebookError):
    """The file is not valid JSON (or not UTF-8)."""


class NotANotebookError(NotebookError):
    """The file is JSON but does not have the shape of a notebook."""


class NotebookVersionError(NotebookError):
    """The notebook is not nbformat 4."""


class NotARegularFileError(NotebookError):
    """A directory, device, FIFO or missing file where a notebook file was expected."""


class UnreadableError(NotebookError):
    """The file exists but cannot be read (permissions, I/O error)."""


class SymlinkError(NotebookError):
    """A dangling symlink, a symlink owned by another user, or a symlink where none may be."""


class TooLargeError(NotebookError):
    """The file is over the size limit."""


class WriteError(FileProblem):
    """Writing a file failed; the old content (if any) is untouched."""


def os_reason(exc: OSError) -> str:
    """The project's one-line reason for a failed system call: ``disk full`` for ``ENOSPC``, else the
    system's text (``Permission denied``...), else ``str(exc)``. Messages put it after the file and
    what was being done: ``<path>: cannot read (<reason>)``."""
    if exc.errno == errno.ENOSPC:
        return _("disk full")
    return exc.strerror or str(exc)


#: Longest excerpt of a value a user gave that a message quotes (see :func:`shown`).
SHOWN_CHARS = 80


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """``repr`` of a value someone sent, cut to about ``limit`` characters, for a one-line message.

    A message (and every log line made from it) quotes what a user gave, never all of it: a
    20 MB path becomes ``'aaaa...' (20971520 characters)``. Line breaks stay escaped (``repr``).
    """
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"
