"""The one definition of volume full names and labels (SPEC 5).

Full name: ``lms_<kind>_<NAME>_<course id>_<LMS host>``, e.g.
``lms_vol_xyz_98_el.mml.tuis.ac.jp``. This module is pure (no Docker) so the
parameter model, the container spec and the in-container tools can all use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import IpynbToolsError

#: Short kind (as in the ``lms_<kind>_`` keys) to a readable kind.
KINDS: dict[str, str] = {"vol": "task", "sub": "submit", "prs": "personal"}
#: Kinds that are engine volumes (personal "volumes" are directories in the home).
ENGINE_KINDS = ("vol", "sub")

NAME_RE = re.compile(r"[a-z0-9]+")
#: A course id must survive inside an engine volume name unchanged.
COURSE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: Host names: letters, digits, dots and hyphens (no ``_``, which separates the parts).
HOST_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
FULL_RE = re.compile(r"lms_(vol|sub|prs)_([a-z0-9]+)_(.+)_([^_]+)")
#: Docker's rule for volume names.
ENGINE_NAME_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")

LABEL_PREFIX = "io.ipynb-tools."
LABEL_COURSE = LABEL_PREFIX + "course"
LABEL_HOST = LABEL_PREFIX + "host"
LABEL_KIND = LABEL_PREFIX + "kind"
LABEL_NAME = LABEL_PREFIX + "name"


class VolumeNameError(IpynbToolsError):
    """A volume name, course id or host that cannot form a valid full name."""


@dataclass(frozen=True, order=True)
class VolumeName:
    """The parts of a course volume's full name."""

    kind: str
    name: str
    course: str
    host: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise VolumeNameError(f"volume kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if not NAME_RE.fullmatch(self.name):
            raise VolumeNameError(f"volume NAME {self.name!r} must be lowercase letters and digits only")
        check_course(self.course)
        check_host(self.host)

    @property
    def full(self) -> str:
        """The engine volume name."""
        return f"lms_{self.kind}_{self.name}_{self.course}_{self.host}"

    @property
    def kind_label(self) -> str:
        """``task``, ``submit`` or ``personal``."""
        return KINDS[self.kind]

    @property
    def labels(self) -> dict[str, str]:
        """The engine labels that identify this volume without parsing its name."""
        return {LABEL_COURSE: self.course, LABEL_HOST: self.host, LABEL_KIND: self.kind, LABEL_NAME: self.name}

    def __str__(self) -> str:
        return self.full


def check_course(course: str) -> str:
    """Return ``course`` or raise if it cannot appear in a volume name as it is."""
    if not isinstance(course, str) or not COURSE_RE.fullmatch(course):
        raise VolumeNameError(
            f"course id {course!r} cannot form a volume name (letters, digits, '_', '.', '-' only, "
            "starting with a letter or digit)"
        )
    return course


def check_host(host: str) -> str:
    """Return ``host`` or raise if it is not a plain host name."""
    if not isinstance(host, str) or not HOST_RE.fullmatch(host):
        raise VolumeNameError(
            f"LMS host {host!r} cannot form a volume name (letters, digits, '.', '-' only; no port, no '_')"
        )
    return host


def full_name(kind: str, name: str, course: str, host: str) -> str:
    """``lms_<kind>_<NAME>_<course>_<host>`` after checking every part."""
    return VolumeName(kind, name, course, host).full


def parse_full_name(full: str) -> VolumeName:
    """Split a full name into its parts; raise :class:`VolumeNameError` when it is not one of ours."""
    match = FULL_RE.fullmatch(full)
    if not match:
        raise VolumeNameError(f"{full!r} is not a course volume name (lms_<kind>_<NAME>_<course>_<host>)")
    return VolumeName(*match.groups())


def is_full_name(text: str) -> bool:
    """True when ``text`` parses as a course volume full name."""
    try:
        parse_full_name(text)
    except VolumeNameError:
        return False
    return True


def task_name_for_personal(full: str) -> str:
    """The task volume that feeds a personal one: ``lms_prs_X...`` to ``lms_vol_X...``."""
    parts = parse_full_name(full)
    return VolumeName("vol", parts.name, parts.course, parts.host).full
