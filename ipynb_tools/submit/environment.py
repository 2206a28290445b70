"""What the environment says: the mapping in force, the OS user, and the personal directory.

Home and works directories are the contract's (:meth:`ipynb_tools.environ.UserPaths.from_environ`).
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Mapping
from pathlib import Path

from ..environ import NB_PRSNALS, UserPaths, parse_entries


def _environ(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def _os_user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def personal_dir(env: Mapping[str, str] | None = None) -> Path:
    """The personal directory: the first ``NB_PRSNALS`` volume, else the current directory."""
    entries = parse_entries(_environ(env).get(NB_PRSNALS))
    if not entries:
        return Path.cwd()
    paths = UserPaths.from_environ(env)
    mount = paths.volume(entries[0].full_name)
    if mount.is_dir():
        return mount
    link = paths.works / entries[0].link_name
    return link if link.is_dir() else mount
