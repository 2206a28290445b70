"""The data of the Volumes page (issue 15; SPEC 11 "Volumes"): a course's task and submit volumes.

Listed from the engine (:func:`ipynb_tools.volumes.course.list_volumes`: labels, containers using
each one) with their size (:func:`ipynb_tools.volumes.course.volume_sizes`) and the hub users whose
containers use them (the spawner's user label). Personal volumes are never shown (they are
directories in homes, SPEC 11).

Deleting: a volume a RUNNING container uses cannot be deleted; the page offers to stop those
users' servers first (through the hub API). A volume only stopped containers use is deleted with
those containers (they are the remains of stopped servers). Everything is checked again at the
moment of deleting (:func:`delete_volume`), not only when the confirmation page was drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import IpynbToolsError
from ..volumes.course import ContainerUse, CourseVolume, RemoveResult, list_volumes, remove_volumes, volume_sizes
from ..volumes.engine import Engine, EngineError
from ..volumes.naming import check_course, check_host


class VolumeBusy(IpynbToolsError):
    """A running container uses the volume: stop those servers first."""

    def __init__(self, volume: VolumeRow) -> None:
        super().__init__(f"{volume.full_name} is in use by running servers of: {', '.join(volume.running_users)}")
        self.volume = volume


class NoSuchVolume(IpynbToolsError):
    """The course has no task or submit volume of that full name."""


@dataclass(frozen=True)
class VolumeRow:
    """A volume as the page shows it: full name, kind label, NAME, bytes (None: unknown), containers using it."""

    full_name: str
    kind: str
    name: str
    size: int | None
    labelled: bool
    used_by: tuple[ContainerUse, ...]

    @property
    def users(self) -> list[str]:
        """The hub users whose containers use it (running or not), sorted; unlabelled containers are left out."""
        return sorted({c.user for c in self.used_by if c.user})

    @property
    def running_users(self) -> list[str]:
        """The hub users whose RUNNING containers use it, sorted."""
        return sorted({c.user or c.name for c in self.used_by if c.running})

    @property
    def in_use(self) -> bool:
        """A running container uses it: it cannot be deleted now."""
        return any(c.running for c in self.used_by)


def _row(volume: CourseVolume, sizes: dict[str, int]) -> VolumeRow:
    return VolumeRow(
        volume.full_name, volume.kind_label, volume.name, sizes.get(volume.full_name), volume.labelled, volume.used_by
    )


def course_volumes(engine: Engine, course: str, host: str, *, with_sizes: bool = True) -> list[VolumeRow]:
    """The course's task and submit volumes on ``engine`` for LMS ``host``, by kind and NAME.

    Raises EngineError (one line) when the engine cannot be asked; VolumeNameError for a course or
    host that cannot be part of a volume name.
    """
    check_course(course)
    check_host(host)
    volumes = list_volumes(engine, course, host)
    sizes: dict[str, int] = {}
    if with_sizes and volumes:
        try:
            sizes = volume_sizes(engine)
        except EngineError:
            sizes = {}  # the sizes are a courtesy; the list stands without them
    return [_row(v, sizes) for v in volumes]


def find_volume(engine: Engine, course: str, host: str, full_name: str) -> VolumeRow:
    """One of the course's volumes by its full name; :class:`NoSuchVolume` otherwise."""
    for row in course_volumes(engine, course, host):
        if row.full_name == full_name:
            return row
    raise NoSuchVolume(f"the course has no task or submit volume {full_name!r}")


def delete_volume(engine: Engine, course: str, host: str, full_name: str) -> RemoveResult:
    """Delete one of the course's volumes (and the stopped containers that still hold it).

    Raises :class:`NoSuchVolume`, :class:`VolumeBusy` (a running container uses it; nothing
    removed) or EngineError.
    """
    row = find_volume(engine, course, host, full_name)
    if row.in_use:
        raise VolumeBusy(row)
    results = remove_volumes(engine, [full_name], course, host, force=True)
    return results[0]


def stop_list(rows: Sequence[VolumeRow]) -> list[str]:
    """The users whose servers must stop before these volumes can go."""
    return sorted({user for row in rows for user in row.running_users})
