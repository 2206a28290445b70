"""Where things are for one user in the container, derived in one place (SPEC 3.3).

:class:`UserPaths` gives the home, the works directory (the Jupyter server's
root), ``works/.volumes`` (the mount points), the tool's state directory
``~/.ipynb-tools``, the umask file and the setup log. The spawner side builds it
from the site's home root and layout (:meth:`UserPaths.for_user`: ``<root>/<user>``, or the old
spawner's ``<root>/<group>/<user>``); container start from
``NB_HOME``/``NB_WRKDIR`` (:meth:`ipynb_tools.environ.StartEnvironment.paths`);
the in-container commands run as the user from their environment
(:meth:`UserPaths.from_environ`).
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .variables import NB_HOME, NB_WRKDIR

DEFAULT_HOME_ROOT = "/home"
#: The works directory relative to the home.
WORKS_RELATIVE = PurePosixPath("jupyter") / "works"
#: The mount points' directory inside the works directory.
VOLUMES_DIR = ".volumes"
#: The tool's per-user state directory inside the home (umask, setup log, submit history).
STATE_DIR = ".ipynb-tools"
#: Where ``setup`` leaves the user's umask for the server extension and shells (inside the home).
UMASK_FILE_RELATIVE = PurePosixPath(STATE_DIR) / "umask"
#: The setup log, inside the home.
SETUP_LOG_RELATIVE = PurePosixPath(STATE_DIR) / "setup.log"


@dataclass(frozen=True)
class UserPaths:
    """The user's directories: ``home`` and ``works`` given, everything else derived from them."""

    home: Path
    works: Path

    @classmethod
    def for_user(
        cls,
        user: str,
        *,
        home_root: str | os.PathLike[str] = DEFAULT_HOME_ROOT,
        works: str | os.PathLike[str] | None = None,
        group: str | None = None,
    ) -> UserPaths:
        """``<home_root>/<user>`` (or, with ``group``, the old spawner's layout
        ``<home_root>/<group>/<user>``, SPEC 12) and (unless given) its ``jupyter/works``."""
        home = Path(home_root) / group / user if group is not None else Path(home_root) / user
        return cls.for_home(home, works=works)

    @classmethod
    def for_home(cls, home: str | os.PathLike[str], *, works: str | os.PathLike[str] | None = None) -> UserPaths:
        """``home`` and (unless given) ``<home>/jupyter/works``."""
        return cls(Path(home), Path(works) if works is not None else Path(home) / WORKS_RELATIVE)

    @classmethod
    def from_environ(cls, env: Mapping[str, str] | None = None) -> UserPaths:
        """For commands run as the user: home ``$NB_HOME``, else ``$HOME``, else the password entry's;
        works ``$NB_WRKDIR``, else ``<home>/jupyter/works``."""
        e = os.environ if env is None else env
        if e.get(NB_HOME):
            home = Path(e[NB_HOME])
        elif e.get("HOME"):
            home = Path(e["HOME"])
        else:
            try:
                home = Path(pwd.getpwuid(os.geteuid()).pw_dir)
            except KeyError:
                home = Path(os.path.expanduser("~"))
        return cls.for_home(home, works=e.get(NB_WRKDIR) or None)

    @property
    def volumes(self) -> Path:
        """``<works>/.volumes``: where task and submit volumes are mounted and personal directories live."""
        return self.works / VOLUMES_DIR

    def volume(self, full_name: str) -> Path:
        """The mount point (or personal directory) of the volume ``full_name``."""
        return self.volumes / full_name

    @property
    def state(self) -> Path:
        """``<home>/.ipynb-tools``."""
        return self.home / STATE_DIR

    @property
    def umask_file(self) -> Path:
        """``<home>/.ipynb-tools/umask``."""
        return self.home / UMASK_FILE_RELATIVE

    @property
    def setup_log(self) -> Path:
        """``<home>/.ipynb-tools/setup.log``."""
        return self.home / SETUP_LOG_RELATIVE
