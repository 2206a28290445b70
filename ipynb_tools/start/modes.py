"""Ownership and modes of the course volumes (SPEC 3.3): task, submit, personal.

- task volume: the first teacher to start owns the root (a fresh volume's root is
  root's), group teachers, directories 2775, files 0664 (0775 when executable);
  root-owned entries go to the volume owner, other owners are kept; symlinks are left alone.
- submit volume: group teachers, 3777; a teacher's start takes ownership. No Jupyter state is
  shared there: checkpoints of files in shared volumes go to a private per-user folder (the
  server's checkpoint configuration, :mod:`ipynb_tools.serverext`), and the world-writable
  ``.ipynb_checkpoints`` (3777) older versions made in the volume is retired
  (:func:`retire_shared_checkpoints`; issue 12, item 19).
- a task or submit volume is touched only when it is mounted: the directory opened at its
  mount point must be a mount root (:func:`ipynb_tools.fileops.is_mount_root`), never a
  directory the user put there (issue 12, item 13).
- personal directory: 0700, owned by the user (not recursive); anything else at its name is set aside.
"""

from __future__ import annotations

import errno
import os
import stat

from ..environ import UserPaths, VolumeEntry
from ..fileops import is_mount_root, open_no_follow
from ..i18n import _
from ..notebook import CHECKPOINTS
from .directories import DIR_FLAGS, fix_owner_mode, open_dir_at, set_aside
from .errors import SetupError

TASK_DIR_MODE = 0o2775
TASK_FILE_MODE = 0o664
TASK_EXEC_MODE = 0o775
SUBMIT_MODE = 0o3777
PERSONAL_MODE = 0o700


def open_volume(volumes_fd: int, entry: VolumeEntry, what: str, paths: UserPaths) -> int:
    """Open the mount point of ``entry`` under ``.volumes`` (no link followed) and check a volume is mounted there.

    Raises :class:`SetupError` when it is missing, a link, not a directory, or a directory
    that is not a mount root (the user's own directory where an unmounted volume belongs).
    """
    where = paths.volume(entry.full_name)
    try:
        fd = os.open(entry.full_name, DIR_FLAGS, dir_fd=volumes_fd)
    except FileNotFoundError:
        raise SetupError(
            (
                _("%(path)s: task volume is not mounted")
                if what == "task"
                else _("%(path)s: submit volume is not mounted")
            )
            % {"path": where}
        ) from None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise SetupError(
                _("%(path)s: is a symlink or not a directory; not touching it") % {"path": where}
            ) from None
        raise
    try:
        mounted = is_mount_root(fd)
    except BaseException:
        os.close(fd)
        raise
    if not mounted:
        os.close(fd)
        raise SetupError(
            (
                _("%(path)s: task volume is not mounted (a plain directory, not a mount point); not touching it")
                if what == "task"
                else _("%(path)s: submit volume is not mounted (a plain directory, not a mount point); not touching it")
            )
            % {"path": where}
        )
    return fd


def fix_task_tree(vol_fd: int, *, teacher_uid: int | None, teachers_gid: int) -> tuple[int, int]:
    """Apply the task-volume ownership and modes below an opened volume root.

    Returns (volume owner uid, number of entries changed). The root goes to
    ``teacher_uid`` when it is still root's (the first teacher to start); any
    root-owned entry goes to the volume owner. Symlinks are left alone.
    """
    st = os.fstat(vol_fd)
    owner = st.st_uid
    if teacher_uid is not None and owner == 0:
        owner = teacher_uid
    changed = 0
    for _dirpath, _dirnames, filenames, dfd in os.fwalk(".", dir_fd=vol_fd, follow_symlinks=False):
        dst = os.fstat(dfd)
        uid = owner if dst.st_uid == 0 else dst.st_uid
        if fix_owner_mode(dfd, (uid, teachers_gid), TASK_DIR_MODE):
            changed += 1
        for name in filenames:
            try:
                fst = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(fst.st_mode):
                continue
            want_uid = owner if fst.st_uid == 0 else fst.st_uid
            want_mode = TASK_EXEC_MODE if fst.st_mode & 0o111 else TASK_FILE_MODE
            if (fst.st_uid, fst.st_gid, stat.S_IMODE(fst.st_mode)) == (want_uid, teachers_gid, want_mode):
                continue
            fd = open_no_follow(name, dir_fd=dfd)
            try:
                if stat.S_ISREG(os.fstat(fd).st_mode) and fix_owner_mode(fd, (want_uid, teachers_gid), want_mode):
                    changed += 1
            finally:
                os.close(fd)
    return owner, changed


#: The mode of a retired shared checkpoint folder: the volume owner and the teachers' group only.
RETIRED_MODE = 0o2770
#: The name prefix of a retired shared checkpoint folder (``.ipynb_checkpoints.retired-<stamp>``).
RETIRED_PREFIX = f"{CHECKPOINTS}.retired-"


def fix_submit_volume(vol_fd: int, *, teacher_uid: int | None, teachers_gid: int, stamp: str) -> str:
    """Submit volume root: group teachers, 3777, a teacher's start owns it; the old shared checkpoints retired."""
    st = os.fstat(vol_fd)
    owner = teacher_uid if teacher_uid is not None else st.st_uid
    fix_owner_mode(vol_fd, (owner, teachers_gid), SUBMIT_MODE)
    notes = [
        _("owner uid %(owner)s, group %(group)s, mode %(mode)s")
        % {"owner": owner, "group": teachers_gid, "mode": f"{SUBMIT_MODE:04o}"}
    ]
    retired = retire_shared_checkpoints(vol_fd, owner=(owner, teachers_gid), stamp=stamp)
    if retired:
        notes.append(retired)
    return "; ".join(notes)


def retire_shared_checkpoints(vol_fd: int, *, owner: tuple[int, int], stamp: str) -> str | None:
    """Retire a ``.ipynb_checkpoints`` in a shared volume: rename it, then close it to students.

    Whatever is at the name (the world-writable folder older setups made, a classmate's
    planted link or file) is renamed to ``.ipynb_checkpoints.retired-<stamp>`` (kept:
    nothing is deleted). A directory is then opened without following links and given to
    ``owner`` with mode :data:`RETIRED_MODE`, so students can no longer reach the copies
    of others' hand-ins inside; its contents are left as they are. A link or file is only
    renamed. Returns what was done, or None when there was nothing to retire.
    """
    try:
        cst = os.stat(CHECKPOINTS, dir_fd=vol_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    aside = set_aside(vol_fd, CHECKPOINTS, stamp, prefix=RETIRED_PREFIX)
    if not stat.S_ISDIR(cst.st_mode):
        return _("%(name)s (not a directory) retired as %(aside)s") % {"name": CHECKPOINTS, "aside": aside}
    try:
        fd = os.open(aside, DIR_FLAGS, dir_fd=vol_fd)
    except OSError as exc:  # swapped for something else between the rename and the open
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            return _("%(name)s retired as %(aside)s (replaced during the rename; not changed)") % {
                "name": CHECKPOINTS,
                "aside": aside,
            }
        raise
    try:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            fix_owner_mode(fd, owner, RETIRED_MODE)
    finally:
        os.close(fd)
    return _("shared %(name)s retired as %(aside)s (%(mode)s, students no longer reach it)") % {
        "name": CHECKPOINTS,
        "aside": aside,
        "mode": f"{RETIRED_MODE:04o}",
    }


def make_personal_dir(volumes_fd: int, entry: VolumeEntry, owner: tuple[int, int], *, stamp: str) -> str | None:
    """Create (when missing) ``.volumes/<full name>`` as the user's 0700 directory; no link followed.

    A link, FIFO or file the user put at its name is set aside (``<full name>.<stamp>``, kept) and a
    fresh directory made, so the task copy goes on (issue 12, item 9's rule); returns that note or None.
    """
    notes: list[str] = []
    fd = open_dir_at(
        volumes_fd,
        entry.full_name,
        create_mode=PERSONAL_MODE,
        owner=owner,
        mode=PERSONAL_MODE,
        aside_stamp=stamp,
        notes=notes,
    )
    os.close(fd)
    return "; ".join(notes) or None
