"""Access rules (SPEC 4): who mounts which volume, which links are made, whether submitting is closed.

- With a per-volume user list, only ``*`` or the listed users mount the volume
  (teachers are NOT added). Without one: ``*`` in ``lms_users``, users in
  ``lms_users``, and teachers.
- The access link (``-x`` teacher-only on task and personal volumes, ignored on
  submit volumes; ``.`` the full name) is :func:`ipynb_tools.environ.access_link`.
- A submit volume is closed when ``at`` is after its ``lms_sub_NAME_close``
  time (the closing second itself is still open; :func:`ipynb_tools.environ.is_past_close`).
- A student's container started after the close does not get that submit volume at
  all (``Mount.withheld``): the deadline holds in the file system, not only in
  ``ipynb_submit`` (SPEC 12: the old spawner did not mount it for students).
  Teachers keep it (they read every submission).
- When a (kind, NAME) is given more than once, the last entry is used.
- A listed user matches a hub user the way JupyterHub normalises names (lower case):
  ``S2024001`` in ``lms_users`` is the hub user ``s2024001`` (:mod:`ipynb_tools.usernames`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..environ.access import access_link
from ..environ.closing import is_past_close
from ..errors import shown
from ..usernames import in_user_list, user_name_problem
from ..volumes.naming import VolumeKind
from ..volumes.naming import full_name as _full_name
from .model import Params, ParamsError, VolumeParam


@dataclass(frozen=True)
class Mount:
    """One volume a user gets at container start."""

    kind: VolumeKind
    name: str
    access: str
    #: Name of the access link made in the works directory; None when no link is made.
    #: For the ``.`` form without a known full name (no course/host given) this is ``"."``.
    link: str | None
    full_name: str | None
    closed: bool
    close_time: int | None
    #: True when the container must not get this volume: a closed submit volume of a student
    #: (no mount, no ``NB_SUBMITS`` entry, no link; the old spawner's rule, SPEC 12).
    withheld: bool = False

    def to_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "kind": str(self.kind),
            "name": self.name,
            "access": self.access,
            "link": self.link,
            "full_name": self.full_name,
            "closed": self.closed,
            "close_time": self.close_time,
            "withheld": self.withheld,
        }


def is_teacher(params: Params, user: str) -> bool:
    """True when ``user`` is in ``lms_teachers`` (or it is ``*``), names compared as the hub does."""
    return in_user_list(user, params.teachers)


def may_mount(params: Params, volume: VolumeParam, user: str, *, teacher: bool) -> bool:
    """The SPEC 4 mount rule for one entry (names compared as the hub does)."""
    if volume.users is not None:
        return in_user_list(user, volume.users)
    return in_user_list(user, params.users) or teacher


def mounts(
    params: Params,
    user: str,
    *,
    teacher: bool,
    at: float | None = None,
    course: str | None = None,
    host: str | None = None,
) -> list[Mount]:
    """The volumes ``user`` (a teacher or not) mounts, in parameter order, with links and closing state.

    A closed submit volume of a student is listed with ``withheld=True``: the container
    spec leaves it out (:func:`ipynb_tools.spec.build_spec`).

    Full names need both ``course`` and ``host``; otherwise ``full_name`` is None. Raises
    :class:`~ipynb_tools.params.model.ParamsError` for a user name the tools never accept (the
    one rule of :mod:`ipynb_tools.usernames`, as for the container spec).
    """
    problem = user_name_problem(user)
    if problem:
        raise ParamsError(f"user name {shown(user)} {problem}")
    at = time.time() if at is None else at
    result: list[Mount] = []
    for volume in params.effective_volumes():
        if not may_mount(params, volume, user, teacher=teacher):
            continue
        full = _full_name(volume.kind, volume.name, course, host) if course is not None and host is not None else None
        close_time = params.closes.get(volume.name) if volume.kind is VolumeKind.SUBMIT else None
        closed = is_past_close(close_time, at)
        result.append(
            Mount(
                kind=volume.kind,
                name=volume.name,
                access=volume.access,
                link=access_link(volume.kind, volume.access, teacher=teacher, full_name=full),
                full_name=full,
                closed=closed,
                close_time=close_time,
                withheld=closed and not teacher,
            )
        )
    return result
