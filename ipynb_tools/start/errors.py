"""The error of a setup step that cannot be done."""

from __future__ import annotations

from ..errors import IpynbToolsError


class SetupError(IpynbToolsError):
    """A setup step that cannot be done (a planted link, a volume that is not mounted...)."""
