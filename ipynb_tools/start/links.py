"""Access links in the works directory (SPEC 3.3): which to make, which stale ones to remove, making them.

For every entry of ``NB_VOLUMES``, ``NB_SUBMITS``, ``NB_PRSNALS`` in that order,
the link named by :func:`ipynb_tools.environ.access_link` for the user's role:
``works/<name> -> .volumes/<full name>`` and ``works/.volumes/<name> -> <full name>``
(the latter not for the ``.`` form, where it would be the mount point itself).
The first entry to claim a name wins; a name that exists is never replaced.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from ..environ import VOLUMES_DIR, AccessName, StartEnvironment, VolumeEntry
from ..i18n import _
from ..volumes.naming import is_full_name

#: ``Link.where`` of the links in the works directory itself.
WORKS = "works"


@dataclass(frozen=True)
class Link:
    """One access link to make: ``<where>/<name> -> <target>`` (``where`` is :data:`WORKS` or ``.volumes``)."""

    where: str
    name: str
    target: str
    entry: VolumeEntry


def planned_links(env: StartEnvironment) -> tuple[list[Link], list[str]]:
    """The links SPEC 3.3 asks for, in order, first name wins; plus notes about skipped entries.

    A teacher-only link a student does not get is skipped silently; an access
    name no link can have, or a name already taken, gives a note.
    """
    links: list[Link] = []
    notes: list[str] = []
    used: set[str] = set()
    for kind, entry in env.entries():
        access = AccessName(kind, entry.access)
        name = access.link_for(teacher=env.teacher, full_name=entry.full_name)
        if name is None:
            if not access.teacher_only or env.teacher:
                notes.append(f"{entry.format()}: access name {entry.access!r} cannot be a link name")
            continue
        if name in used:
            notes.append(f"{entry.format()}: link name {name} already taken by an earlier entry (first wins)")
            continue
        used.add(name)
        links.append(Link(WORKS, name, f"{VOLUMES_DIR}/{entry.full_name}", entry))
        if name != entry.full_name:
            links.append(Link(VOLUMES_DIR, name, entry.full_name, entry))
    return links, notes


def own_link_volume(where: str, target: str) -> str | None:
    """The volume full name an access link made by setup points to, or None for other links."""
    if where == WORKS and target.startswith(VOLUMES_DIR + "/"):
        full = target[len(VOLUMES_DIR) + 1 :]
    elif where == VOLUMES_DIR and "/" not in target:
        full = target
    else:
        return None
    return full if is_full_name(full) else None


def remove_stale_links(works_fd: int, volumes_fd: int, links: list[Link]) -> list[str]:
    """Remove dangling links, and our access links that ``links`` no longer asks for; return what went."""
    wanted = {(ln.where, ln.name, ln.target) for ln in links}
    removed = []
    for where, fd in ((WORKS, works_fd), (VOLUMES_DIR, volumes_fd)):
        for name in sorted(os.listdir(fd)):
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                if not stat.S_ISLNK(st.st_mode):
                    continue
                target = os.readlink(name, dir_fd=fd)
                try:
                    os.stat(name, dir_fd=fd)
                    dangling = False
                except (FileNotFoundError, NotADirectoryError):
                    dangling = True
                except OSError:
                    dangling = False
                ours = own_link_volume(where, target) is not None
                if dangling or (ours and (where, name, target) not in wanted):
                    os.unlink(name, dir_fd=fd)
                    removed.append(f"{where}/{name} -> {target}")
            except FileNotFoundError:
                continue
    return removed


def make_link(link: Link, dir_fd: int, owner: tuple[int, int]) -> str:
    """Make ``link`` in the opened directory ``dir_fd``, owned by ``owner``, unless its name exists."""
    shown = f"{link.where}/{link.name} -> {link.target}"
    try:
        st = os.stat(link.name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        st = None
    if st is not None:
        if stat.S_ISLNK(st.st_mode) and os.readlink(link.name, dir_fd=dir_fd) == link.target:
            return _("%(link)s (already there)") % {"link": shown}
        return _("%(path)s exists; not linked (first wins)") % {"path": f"{link.where}/{link.name}"}
    os.symlink(link.target, link.name, dir_fd=dir_fd)
    os.chown(link.name, owner[0], owner[1], dir_fd=dir_fd, follow_symlinks=False)
    return shown
