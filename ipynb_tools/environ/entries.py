"""The volume lists of the contract: ``NB_VOLUMES``, ``NB_SUBMITS``, ``NB_PRSNALS``.

Each is space-separated entries ``.volumes/<full name>:<access>`` relative to
the works directory. The access name keeps its markers (``-``, ``.``); what
they mean is :mod:`ipynb_tools.environ.access`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..volumes.naming import VolumeKind, VolumeNameError, parse_full_name
from .access import AccessName
from .paths import VOLUMES_DIR
from .variables import EnvironmentContractError


def kind_of_full_name(full_name: str) -> VolumeKind | None:
    """The kind of a course volume's full name; None when it is not one."""
    try:
        return parse_full_name(full_name).kind
    except VolumeNameError:
        return None


@dataclass(frozen=True)
class VolumeEntry:
    """One ``.volumes/<full name>:<access>`` entry."""

    full_name: str
    access: str

    @property
    def access_name(self) -> AccessName:
        """The access name read for this volume's kind (from its full name)."""
        return AccessName(kind_of_full_name(self.full_name), self.access)

    @property
    def teacher_only(self) -> bool:
        """A ``-`` access name on a task or personal volume: the link is made for teachers only."""
        return self.access_name.teacher_only

    @property
    def link_name(self) -> str:
        """The name of the access link: ``-`` removed; ``.`` (or ``-.``) becomes the full name."""
        return self.access_name.link_name(self.full_name)

    @property
    def mount_relative(self) -> str:
        """Mount point relative to the works directory."""
        return f"{VOLUMES_DIR}/{self.full_name}"

    def format(self) -> str:
        """The entry as it appears in the environment variable."""
        return f"{self.mount_relative}:{self.access}"

    @classmethod
    def parse(cls, text: str) -> VolumeEntry:
        """Parse ``.volumes/<full>:<access>`` (the ``.volumes/`` prefix is optional)."""
        path, sep, access = text.partition(":")
        if not sep or not path:
            raise EnvironmentContractError(f"volume entry {text!r} is not '.volumes/<full name>:<access name>'")
        full = path[len(VOLUMES_DIR) + 1 :] if path.startswith(VOLUMES_DIR + "/") else path
        if not full or "/" in full or full in (".", ".."):
            raise EnvironmentContractError(f"volume entry {text!r} does not name a volume under {VOLUMES_DIR}/")
        if "/" in access:
            raise EnvironmentContractError(f"volume entry {text!r} has '/' in its access name")
        return cls(full, access)


def parse_entries(value: str | None) -> list[VolumeEntry]:
    """Parse a space-separated list of entries (empty or None gives [])."""
    return [VolumeEntry.parse(item) for item in (value or "").split()]


def format_entries(entries: list[VolumeEntry]) -> str:
    """The inverse of :func:`parse_entries`."""
    for e in entries:
        if any(ch.isspace() for ch in e.access + e.full_name):
            raise EnvironmentContractError(f"volume entry {e.format()!r} contains white space")
    return " ".join(e.format() for e in entries)
