"""Directories setup opens and makes: descriptor-relative, never following a link (SPEC 3.3).

The home belongs to the user, who may plant links there between starts, so
everything below it is opened relative to directory descriptors with
``O_NOFOLLOW``, and ownership and modes are changed with ``fchown``/``fchmod``
on opened descriptors, never by path. :class:`OpenDirs` holds the three
descriptors the other steps work in.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ..environ import VOLUMES_DIR, UserPaths
from ..fileops import rename_no_replace
from ..i18n import _
from .errors import SetupError

NEW_DIR_MODE = 0o755
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def fix_owner_mode(fd: int, owner: tuple[int, int] | None, mode: int | None) -> bool:
    """fchown/fchmod ``fd`` when needed (chown first: it clears set-id bits); True if changed."""
    st = os.fstat(fd)
    changed = False
    if owner is not None and (st.st_uid, st.st_gid) != owner:
        os.fchown(fd, owner[0], owner[1])
        changed = True
    if mode is not None and (changed or stat.S_IMODE(st.st_mode) != mode):
        os.fchmod(fd, mode)
        changed = changed or stat.S_IMODE(st.st_mode) != mode
    return changed


def set_aside(parent_fd: int, name: str, stamp: str, *, prefix: str | None = None) -> str:
    """Rename ``name`` under ``parent_fd`` to a free ``<prefix><stamp>[-n]`` (kept, never deleted); return it.

    ``prefix`` defaults to ``<name>.``. Raises ``OSError`` from the rename, :class:`SetupError`
    when 1000 names are taken.
    """
    start = f"{name}." if prefix is None else prefix
    for n in range(1000):
        aside = f"{start}{stamp}" + (f"-{n}" if n else "")
        try:
            # Never over an entry at the free name (one the user makes there meanwhile too).
            rename_no_replace(name, aside, parent_fd)
        except FileExistsError:
            continue
        return aside
    raise SetupError(_("%(name)s: no free name to set it aside") % {"name": name})


def clear_for_file(parent_fd: int, name: str, stamp: str) -> str | None:
    """Make room for a file setup replaces at ``name`` (under ``parent_fd``): a directory there is set aside.

    A rename replaces a file, a link or a FIFO at ``name`` (nothing followed), but not a
    directory: a directory the user put there would fail the step at every start (issue 12,
    item 9). It is renamed with :func:`set_aside` (kept); returns the note, or None when
    nothing was in the way. Raises ``OSError`` from the rename.
    """
    try:
        st = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    if not stat.S_ISDIR(st.st_mode):
        return None
    return _("%(name)s was a directory; set aside as %(aside)s") % {
        "name": name,
        "aside": set_aside(parent_fd, name, stamp),
    }


def open_dir_at(
    parent_fd: int,
    name: str,
    *,
    create_mode: int | None,
    owner: tuple[int, int] | None,
    mode: int | None = None,
    aside_stamp: str | None = None,
    notes: list[str] | None = None,
) -> int:
    """Open directory ``name`` under ``parent_fd`` without following a symlink.

    Creates it with ``create_mode`` when missing (None: do not create); then
    sets ``owner`` and ``mode`` on the opened descriptor when they differ.
    A link or a non-directory at ``name`` raises :class:`SetupError`, or, with
    ``aside_stamp`` (a directory of the tools' own in the user's home), is set
    aside (:func:`set_aside`, noted in ``notes``) and a fresh directory is made.
    """
    try:
        fd = os.open(name, DIR_FLAGS, dir_fd=parent_fd)
    except FileNotFoundError:
        if create_mode is None:
            raise
        os.mkdir(name, create_mode, dir_fd=parent_fd)
        fd = os.open(name, DIR_FLAGS, dir_fd=parent_fd)
        if mode is None:
            mode = create_mode
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        # a symlink or a file where a directory belongs
        if aside_stamp is None or create_mode is None:
            raise SetupError(_("%(path)s: is a symlink or not a directory; not touching it") % {"path": name}) from None
        aside = set_aside(parent_fd, name, aside_stamp)
        if notes is not None:
            notes.append(
                _("%(name)s was a symlink or not a directory; set aside as %(aside)s") % {"name": name, "aside": aside}
            )
        return open_dir_at(parent_fd, name, create_mode=create_mode, owner=owner, mode=mode)
    try:
        fix_owner_mode(fd, owner, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_trusted_dir(path: Path) -> int:
    """Open a directory the user does not control (``/home``, a test's temp dir)."""
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


@dataclass
class OpenDirs:
    """The directories setup holds open: the home, the works directory and ``works/.volumes``.

    A field is None until that directory is open (a failed ``home`` step leaves
    some or all of them None, and the steps that need them are not run).
    """

    home: int | None = None
    works: int | None = None
    volumes: int | None = None

    def need_home(self) -> int:
        if self.home is None:
            raise SetupError(_("the home is not open (see the home step)"))
        return self.home

    def need_works(self) -> tuple[int, int]:
        """The works directory and ``works/.volumes``."""
        if self.works is None or self.volumes is None:
            raise SetupError(_("the works directory is not open (see the home step)"))
        return self.works, self.volumes

    def close(self) -> None:
        for fd in (self.home, self.works, self.volumes):
            if fd is not None:
                os.close(fd)
        self.home = self.works = self.volumes = None


def open_home(paths: UserPaths, owner: tuple[int, int], dirs: OpenDirs, stamp: str) -> str:
    """Create (when missing) and open the home, the works directory and ``.volumes``, owned by ``owner``.

    The home's parent (``/home``) is root's and created when missing. The works
    directory is reached below the home without following links when it is
    inside it. A link or a file the user put where the works directory (or a
    directory on its way) or ``.volumes`` belongs is set aside as ``<name>.<stamp>``
    and a fresh directory made (issue 12, item 22: one clear outcome, the start goes on).
    Fills ``dirs``; returns what was done.
    """
    notes: list[str] = []
    home, works = paths.home, paths.works
    home.parent.mkdir(mode=NEW_DIR_MODE, parents=True, exist_ok=True)
    parent = open_trusted_dir(home.parent)
    try:
        dirs.home = open_dir_at(parent, home.name, create_mode=NEW_DIR_MODE, owner=owner)
    finally:
        os.close(parent)
    try:
        rel = works.relative_to(home)
    except ValueError:
        rel = None
    if rel is not None and rel.parts:
        fd = dirs.home
        opened: list[int] = []
        for part in rel.parts:
            fd = open_dir_at(fd, part, create_mode=NEW_DIR_MODE, owner=owner, aside_stamp=stamp, notes=notes)
            opened.append(fd)
        for extra in opened[:-1]:
            os.close(extra)
        dirs.works = opened[-1]
    else:
        parent = open_trusted_dir(works.parent)
        try:
            dirs.works = open_dir_at(parent, works.name, create_mode=NEW_DIR_MODE, owner=owner)
        finally:
            os.close(parent)
    dirs.volumes = open_dir_at(
        dirs.works, VOLUMES_DIR, create_mode=NEW_DIR_MODE, owner=owner, aside_stamp=stamp, notes=notes
    )
    owned = _("%(home)s, %(works)s, %(volumes)s owned by %(uid)s:%(gid)s") % {
        "home": home,
        "works": works,
        "volumes": paths.volumes,
        "uid": owner[0],
        "gid": owner[1],
    }
    return "; ".join([owned, *notes])


def open_state_dir(paths: UserPaths, dirs: OpenDirs, owner: tuple[int, int], stamp: str) -> int:
    """Open (creating) the tool's state directory ``~/.ipynb-tools`` below the opened home.

    A link or file in its place is set aside (``.ipynb-tools.<stamp>``) and a fresh directory made.
    """
    return open_dir_at(dirs.need_home(), paths.state.name, create_mode=NEW_DIR_MODE, owner=owner, aside_stamp=stamp)
