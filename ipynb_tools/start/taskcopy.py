"""The task copy (SPEC 3.3): each personal directory gets the task volume of the same NAME.

:func:`task_copies` pairs personal directories with their task volumes
(``lms_prs_X_...`` with ``lms_vol_X_...``); ``setup`` and ``ipynb-tools sync``
(without arguments) both call it. :func:`copy_as_user` runs
:func:`ipynb_tools.sync.sync_tree` for one pair in a child process that has
dropped to the user (:func:`ipynb_tools.start.privileges.run_as`).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from ..environ import StartEnvironment, VolumeEntry
from ..i18n import _
from ..volumes.naming import task_name_for_personal
from .errors import SetupError
from .privileges import Emit, run_as


@dataclass(frozen=True)
class TaskCopy:
    """A personal directory and the task volume that feeds it (``task`` None: that volume is not mounted)."""

    personal: VolumeEntry
    task: str | None
    source: Path | None
    dest: Path

    @property
    def task_name(self) -> str:
        """The task volume's full name (mounted or not)."""
        return task_name_for_personal(self.personal.full_name)


def task_copies(env: StartEnvironment, personals: list[VolumeEntry] | None = None) -> list[TaskCopy]:
    """For every personal entry (default: all of ``env.personals``), its task volume when mounted.

    Raises :class:`ipynb_tools.volumes.naming.VolumeNameError` for a personal entry whose
    name is not a course volume's full name.
    """
    mounted = {v.full_name for v in env.tasks}
    paths = env.paths
    result = []
    for entry in env.personals if personals is None else personals:
        task = task_name_for_personal(entry.full_name)
        found = task if task in mounted else None
        result.append(TaskCopy(entry, found, paths.volume(task) if found else None, paths.volume(entry.full_name)))
    return result


def copy_as_user(env: StartEnvironment, copy: TaskCopy, report: Emit, *, durable: bool = True) -> str:
    """Sync ``copy.source`` into ``copy.dest`` as the user; each file's problem and the summary go to ``report``.

    Raises :class:`SetupError` when some files failed.
    """
    if copy.source is None:
        return _("no task volume %(name)s mounted; nothing to copy") % {"name": copy.task_name}
    source = copy.source

    def work(emit: Emit) -> bool:
        from ..sync import COPIED, FAILED, UNCHANGED, FileSync, sync_tree

        def show(r: FileSync) -> None:
            if r.action not in (COPIED, UNCHANGED):  # those are counted in the summary line
                emit(r.action != FAILED, f"{r.action}: {r.rel}" + (f" ({r.detail})" if r.detail else ""))

        result = sync_tree(source, copy.dest, durable=durable, progress=show)
        emit(result.ok, result.summary())
        return result.ok

    preload()
    if not run_as(env, work, report):
        raise SetupError(
            _("sync %(task)s -> %(personal)s: some files failed (see the lines above)")
            % {"task": copy.task_name, "personal": copy.personal.full_name}
        )
    return f"{copy.task_name} -> {copy.dest}"


def preload() -> None:
    """Load what the child needs while still root: after dropping privileges the interpreter's
    own files may be unreadable (a Python under /root, say)."""
    from .. import sync as _sync  # noqa: F401 - imported for its side effect: loaded while still root

    codecs.lookup("utf-8-sig")
