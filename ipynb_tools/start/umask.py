"""Leaving the user's umask where the server and shells find it (SPEC 3.3: teachers 0033, students 0037).

Setup runs as root and cannot set the umask of the server it starts later, so it
writes the mask (``NB_UMASK`` or the role's default) to the umask file
(``UserPaths.umask_file``; read by :mod:`ipynb_tools.serverext.umask`) and to
``/etc/profile.d/ipynb-tools-umask.sh`` for login shells.
"""

from __future__ import annotations

from pathlib import Path

from ..atomic import atomic_write_bytes
from ..environ import UserPaths
from ..fileops import replace_file
from ..i18n import _
from .directories import clear_for_file
from .errors import SetupError

#: Shell snippet (relative to ``/etc``) that gives login shells the user's umask.
PROFILE_SNIPPET = Path("profile.d") / "ipynb-tools-umask.sh"


def write_umask(umask: int, paths: UserPaths, state_fd: int | None, etc: Path, *, stamp: str = "old") -> str:
    """Write ``umask`` to the umask file (in the opened state directory, when open) and the profile snippet.

    A directory the user put at the umask file's name is set aside (``umask.<stamp>``, kept) first.
    Raises :class:`SetupError` when neither could be written to.
    """
    text = f"{umask:04o}\n".encode()
    where = []
    notes = []
    if state_fd is not None:
        note = clear_for_file(state_fd, paths.umask_file.name, stamp)
        if note:
            notes.append(note)
        replace_file(paths.umask_file.name, text, mode=0o644, dir_fd=state_fd)
        where.append(str(paths.umask_file))
    profile_dir = etc / PROFILE_SNIPPET.parent
    if profile_dir.is_dir():
        atomic_write_bytes(etc / PROFILE_SNIPPET, b"umask " + text, mode=0o644)
        where.append(str(etc / PROFILE_SNIPPET))
    if not where:
        raise SetupError(_("umask: nowhere to write it (no home, no profile.d)"))
    written = _("umask %(umask)s written to %(paths)s") % {"umask": f"{umask:04o}", "paths": ", ".join(where)}
    return "; ".join([written, *notes])
