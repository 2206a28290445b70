"""Checkpoints of notebooks in shared folders go to a private place in the home (issue 12, item 19).

Jupyter keeps a notebook's checkpoint in ``.ipynb_checkpoints/`` beside it. In a shared volume that
folder is shared and writable by everyone (the old setup even made it 3777 in the submit volume):
a classmate plants a symlink or a 0666 file under the checkpoint name of another student's hand-in,
and when that student opens it in JupyterLab, the checkpoint (the whole notebook) lands where the
classmate can read it. And when the folder is not writable (a task volume, for a student),
jupyter_server falls back to the shared ``/tmp/jupyter_checkpoints``.

The rule: a notebook whose folder is **shared** (not owned by the user, writable by group or
others, or not writable by the user: submit and task volumes) is checkpointed in
``~/.ipynb-tools/checkpoints/<its folder's path under the server root>/`` (folders 0700). Notebooks
in the user's own folders keep Jupyter's usual ``.ipynb_checkpoints`` beside them. Nothing is ever
read from or written to a shared ``.ipynb_checkpoints``.

:func:`use_private_checkpoints` puts the private variant of the contents manager's checkpoints in
place when the extension loads (jupyter_server's ``FileCheckpoints`` and ``AsyncFileCheckpoints``;
a site's own checkpoints class is left alone, with a warning). It can also be configured directly:
``c.ContentsManager.checkpoints_class = "ipynb_tools.serverext.checkpoints.PrivateAsyncFileCheckpoints"``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from jupyter_server.services.contents.filecheckpoints import AsyncFileCheckpoints, FileCheckpoints
from traitlets import HasTraits, Unicode

from ..environ import UserPaths

#: Where private checkpoints live, inside the user's state folder (``~/.ipynb-tools``).
PRIVATE_DIR = "checkpoints"


def is_shared_folder(folder: str | os.PathLike[str]) -> bool:
    """True when ``folder`` is not the user's alone: owned by another user, writable by group or
    others, or not writable by the user. A folder that cannot be looked at counts as shared."""
    try:
        st = os.stat(folder)
    except OSError:
        return True
    if st.st_uid != os.geteuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return True
    return not os.access(folder, os.W_OK)


class PrivateCheckpointsMixin(HasTraits):
    """``checkpoint_path`` that puts checkpoints of notebooks in shared folders in the home."""

    private_checkpoint_dir = Unicode(
        "",
        config=True,
        help="""Where checkpoints of notebooks in shared folders go (folders made 0700).
        Empty: ~/.ipynb-tools/checkpoints.""",
    )

    def private_root(self) -> Path:
        """The private checkpoint folder (``~/.ipynb-tools/checkpoints`` unless configured)."""
        return Path(self.private_checkpoint_dir or UserPaths.from_environ().state / PRIVATE_DIR)

    def checkpoint_path(self, checkpoint_id: str, path: str) -> str:
        """The checkpoint file of ``path`` (a contents-API path): private when its folder is shared."""
        parent, name = ("/" + path.strip("/")).rsplit("/", 1)
        parent = parent.strip("/")
        folder = self._get_os_path(path=parent)  # type: ignore[attr-defined]  # on the FileCheckpoints this mixes into
        if not is_shared_folder(folder):
            return super().checkpoint_path(checkpoint_id, path)  # type: ignore[misc, no-any-return]  # the mixed-into base
        basename, ext = os.path.splitext(name)
        cp_dir = self.private_root().joinpath(*[p for p in parent.split("/") if p not in ("", ".", "..")])
        with self.perm_to_403():  # type: ignore[attr-defined]  # jupyter_server FileManagerMixin, the base of the mixed class
            _private_dirs(self.private_root(), cp_dir)
        return str(cp_dir / f"{basename}-{checkpoint_id}{ext}")


def _private_dirs(root: Path, cp_dir: Path) -> None:
    """Make ``cp_dir`` (under ``root``) with every folder from ``root`` down 0700."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    cp_dir.mkdir(mode=0o700, parents=True, exist_ok=True)


class PrivateFileCheckpoints(PrivateCheckpointsMixin, FileCheckpoints):
    """jupyter_server's ``FileCheckpoints``, private for notebooks in shared folders."""


class PrivateAsyncFileCheckpoints(PrivateCheckpointsMixin, AsyncFileCheckpoints):
    """jupyter_server's ``AsyncFileCheckpoints`` (the default of its contents manager), private for shared folders."""


def use_private_checkpoints(contents_manager: Any, log: Any) -> bool:
    """Replace the contents manager's Jupyter file checkpoints by the private variant; True when done."""
    current = contents_manager.checkpoints
    if isinstance(current, PrivateCheckpointsMixin):
        return True
    replacement: type[Any]
    if type(current) is AsyncFileCheckpoints:
        replacement = PrivateAsyncFileCheckpoints
    elif type(current) is FileCheckpoints:
        replacement = PrivateFileCheckpoints
    else:
        log.warning(
            "ipynb-tools: checkpoints class %s kept: checkpoints of notebooks in shared volumes may be shared",
            type(current).__name__,
        )
        return False
    contents_manager.checkpoints = replacement(**contents_manager.checkpoints_kwargs)
    return True
