"""The errors of the Moodle adapter: each one line, never carrying the database password."""

from __future__ import annotations

from ..errors import FileProblem, IpynbToolsError


class LmsError(IpynbToolsError):
    """Something about the Moodle site or database stops the operation; nothing was written."""


class MoodleConfigError(FileProblem, LmsError):
    """``config.php`` cannot be read, or does not say what the adapter needs in plain values."""


class DatabaseError(LmsError):
    """The database cannot be reached, refused the login, or lacks the tables (wrong prefix)."""


class ActivityNotFound(LmsError):
    """No LTI activity with that id, or it belongs to another course."""


class ParamsRefused(LmsError):
    """The new parameter text has error findings (or new warnings without ``--force``)."""


class TextTooLong(LmsError):
    """The new parameter text does not fit the column of ``<prefix>lti`` (never truncated)."""


class ConcurrentEdit(LmsError):
    """The activity changed since it was read (someone saved it in Moodle): nothing was written."""
