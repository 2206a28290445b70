"""The volume vocabulary: kinds, NAMEs, full names and labels (SPEC 1, 5).

Full name: ``lms_<kind>_<NAME>_<course id>_<LMS host>``, e.g.
``lms_vol_xyz_98_el.mml.tuis.ac.jp``. :class:`VolumeKind` is the one list of
kinds (their ``vol``/``sub``/``prs`` codes and ``task``/``submit``/``personal``
labels), :data:`NAME_RE` the one rule for a NAME. This module is pure (no
Docker) so the parameter model, the container spec and the in-container tools
can all use it. The value types built on it are listed in ``docs/DEVELOPING.md``
("Volume vocabulary").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from ..errors import IpynbToolsError


class VolumeKind(StrEnum):
    """A volume's kind; the value is its code in ``lms_<kind>_NAME`` keys and full names (SPEC 1, 4).

    A ``StrEnum``: a kind compares equal to its code and formats as it (``f"lms_{kind}_"``),
    so JSON and messages keep the codes.
    """

    TASK = "vol"
    SUBMIT = "sub"
    PERSONAL = "prs"

    @property
    def label(self) -> str:
        """``task``, ``submit`` or ``personal`` (what people read)."""
        return self.name.lower()

    @property
    def on_engine(self) -> bool:
        """Task and submit volumes are engine volumes; personal ones are directories in each home."""
        return self is not VolumeKind.PERSONAL

    @classmethod
    def parse(cls, text: str) -> VolumeKind:
        """A kind from its code or its label, any case (``vol``, ``task``, ``SUB``...).

        Raises :class:`VolumeNameError` naming the accepted words.
        """
        word = text.strip().lower()
        for kind in cls:
            if word in (kind.value, kind.label):
                return kind
        raise VolumeNameError(f"volume kind {text!r} is not one of {', '.join(codes_and_labels())}")


def codes_and_labels() -> list[str]:
    """``vol``, ``task``, ``sub``, ``submit``, ``prs``, ``personal``: the words :meth:`VolumeKind.parse` takes."""
    return [word for kind in VolumeKind for word in (kind.value, kind.label)]


#: Kinds that are engine volumes, in listing order (personal "volumes" are directories in the home).
ENGINE_KINDS: tuple[VolumeKind, ...] = tuple(kind for kind in VolumeKind if kind.on_engine)

#: The one rule for a volume NAME (SPEC 4): lowercase letters and digits.
NAME_RE = re.compile(r"[a-z0-9]+")
#: A course id must survive inside an engine volume name unchanged.
COURSE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: Host names: letters, digits, dots and hyphens (no ``_``, which separates the parts).
HOST_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
#: A full name: ``lms_<kind code>_<NAME>_<course>_<host>``.
FULL_RE = re.compile(rf"lms_({'|'.join(VolumeKind)})_({NAME_RE.pattern})_(.+)_([^_]+)")

LABEL_PREFIX = "io.ipynb-tools."
LABEL_COURSE = LABEL_PREFIX + "course"
LABEL_HOST = LABEL_PREFIX + "host"
LABEL_KIND = LABEL_PREFIX + "kind"
LABEL_NAME = LABEL_PREFIX + "name"
#: On a container (set by the spawner, ipynb_tools/spec.py): the hub user whose server it is.
LABEL_USER = LABEL_PREFIX + "user"


class VolumeNameError(IpynbToolsError):
    """A volume name, course id or host that cannot form a valid full name."""


@dataclass(frozen=True, order=True)
class VolumeName:
    """The parts of a course volume's full name."""

    kind: VolumeKind
    name: str
    course: str
    host: str

    def __post_init__(self) -> None:
        if self.kind not in tuple(VolumeKind):
            raise VolumeNameError(f"volume kind {self.kind!r} is not one of {', '.join(VolumeKind)}")
        object.__setattr__(self, "kind", VolumeKind(self.kind))
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
        return self.kind.label

    @property
    def labels(self) -> dict[str, str]:
        """The engine labels that identify this volume without parsing its name."""
        return {LABEL_COURSE: self.course, LABEL_HOST: self.host, LABEL_KIND: self.kind.value, LABEL_NAME: self.name}

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


def full_name(kind: VolumeKind, name: str, course: str, host: str) -> str:
    """``lms_<kind>_<NAME>_<course>_<host>`` after checking every part."""
    return VolumeName(kind, name, course, host).full


def parse_full_name(full: str) -> VolumeName:
    """Split a full name into its parts; raise :class:`VolumeNameError` when it is not one of ours."""
    match = FULL_RE.fullmatch(full)
    if not match:
        raise VolumeNameError(f"{full!r} is not a course volume name (lms_<kind>_<NAME>_<course>_<host>)")
    kind, name, course, host = match.groups()
    return VolumeName(VolumeKind(kind), name, course, host)


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
    return VolumeName(VolumeKind.TASK, parts.name, parts.course, parts.host).full
