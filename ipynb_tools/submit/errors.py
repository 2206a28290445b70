"""The errors of ``ipynb_submit``: each means nothing was written to the submit directory."""

from __future__ import annotations

from ..errors import FileProblem, IpynbToolsError


class SubmitError(IpynbToolsError):
    """A submission that cannot be made; nothing was written to the submit directory."""


class UnknownTargetError(SubmitError):
    """TARGET names no known submit directory (the message lists the known ones)."""


class NotSubmitTargetError(UnknownTargetError):
    """TARGET is a directory but not a course submit volume (refused where only volumes may be used)."""


class TargetAccessError(SubmitError):
    """TARGET cannot be looked at (a path through a folder the user may not enter)."""


class SubmitClosedError(SubmitError):
    """The target's closing time has passed."""


class BadNameError(SubmitError):
    """A user name, file name or name format that would not give one safe file name."""


class ForeignFileError(FileProblem, SubmitError):
    """The final name is taken by something the submitting user does not own (or by a symlink)."""
