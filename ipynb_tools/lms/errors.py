"""The errors of the Moodle adapter: each one line, never carrying the database password."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import FileProblem, IpynbToolsError

if TYPE_CHECKING:
    from ..params.findings import Finding


class LmsError(IpynbToolsError):
    """Something about the Moodle site or database stops the operation; nothing was written."""


class MoodleConfigError(FileProblem, LmsError):
    """``config.php`` cannot be read, or does not say what the adapter needs in plain values."""


class DatabaseError(LmsError):
    """The database cannot be reached, refused the login, or lacks the tables (wrong prefix)."""


class ActivityNotFound(LmsError):
    """No LTI activity with that id, or it belongs to another course."""


class ParamsRefused(LmsError):
    """The new parameter text has error findings (or new warnings without ``--force``).

    ``finding``: the first error (or new warning), for a page that shows it in its reader's language;
    ``new_warnings``: how many new warnings refused the edit (0: an error did)."""

    def __init__(self, message: str, *, finding: Finding | None = None, new_warnings: int = 0) -> None:
        super().__init__(message)
        self.finding = finding
        self.new_warnings = new_warnings


class TextTooLong(LmsError):
    """The new parameter text does not fit the column of ``<prefix>lti`` (never truncated); ``finding`` is
    the params library's length finding (:meth:`ipynb_tools.params.storage.StorageLimit.check`)."""

    def __init__(self, message: str, *, finding: Finding | None = None) -> None:
        super().__init__(message)
        self.finding = finding


class ConcurrentEdit(LmsError):
    """The activity changed since it was read (someone saved it in Moodle): nothing was written."""
