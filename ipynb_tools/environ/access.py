"""The access link of a volume (SPEC 3.3, SPEC 4): one rule for the parameters, the contract and setup.

An access name is the value of ``lms_<kind>_<NAME>`` (before any ``:`` user
list) and the part after ``:`` of an ``NB_*`` volume entry:

- ``-x`` on a task (``vol``) or personal (``prs``) volume: the link ``x`` is made
  for teachers only (students still mount the volume);
- on a submit (``sub``) volume the ``-`` is only dropped: everyone gets ``x``
  (students must reach it to hand in);
- ``.`` (or ``-.``): the link is named by the volume's full name;
- no access name (``""``, ``-`` alone) or one unusable as a file name (``..``,
  a leading ``-`` after the marker, ``/``, NUL): no link.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..volumes.naming import VolumeKind

TEACHER_ONLY_MARK = "-"
FULL_NAME_MARK = "."
#: Shown in place of a full name that is not known (no course/host given).
UNKNOWN_FULL_NAME = "."


def is_link_name(name: str) -> bool:
    """True when ``name`` can be the name of a link in the works directory."""
    return bool(name) and name not in (".", "..") and not name.startswith("-") and "/" not in name and "\0" not in name


@dataclass(frozen=True)
class AccessName:
    """An access name read for a volume of ``kind`` (None: not known, read as a task volume)."""

    kind: VolumeKind | None
    access: str

    @property
    def marked(self) -> bool:
        """The access name starts with ``-``."""
        return self.access.startswith(TEACHER_ONLY_MARK)

    @property
    def teacher_only(self) -> bool:
        """The link is made for teachers only: a ``-`` access name on a task or personal volume."""
        return self.marked and self.kind != VolumeKind.SUBMIT

    @property
    def full_name_link(self) -> bool:
        """The access name is ``.`` or ``-.``: the link is named by the volume's full name."""
        return self.access in (FULL_NAME_MARK, TEACHER_ONLY_MARK + FULL_NAME_MARK)

    def link_name(self, full_name: str) -> str:
        """The link's name whoever gets it: the ``-`` removed, ``.`` replaced by ``full_name``.

        May be a name no link can have (``""`` for ``-`` alone, ``..``); see :attr:`usable`.
        """
        bare = self.access[1:] if self.marked else self.access
        return full_name if bare == FULL_NAME_MARK else bare

    @property
    def usable(self) -> bool:
        """False when the access name leaves no usable link name for anyone."""
        return self.full_name_link or is_link_name(self.link_name(""))

    def link_for(self, *, teacher: bool, full_name: str | None) -> str | None:
        """The link a teacher (or a student) gets, or None (teacher-only link, or no usable name).

        With ``full_name`` None the full-name form gives :data:`UNKNOWN_FULL_NAME`.
        """
        if self.teacher_only and not teacher:
            return None
        if self.full_name_link:
            return full_name if full_name is not None else UNKNOWN_FULL_NAME
        name = self.link_name(full_name or "")
        return name if is_link_name(name) else None


def access_link(kind: VolumeKind | None, access: str, *, teacher: bool, full_name: str | None) -> str | None:
    """The access link of a ``kind`` volume with ``access`` for a teacher or a student (None: no link)."""
    return AccessName(kind, access).link_for(teacher=teacher, full_name=full_name)
