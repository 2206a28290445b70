"""What the environment says: the mapping in force, the OS user, and the home, works and personal directories."""

from __future__ import annotations

import os
import pwd
from collections.abc import Mapping
from pathlib import Path

from ..environ import NB_PRSNALS, NB_WRKDIR, WORKS_RELATIVE, parse_entries


def _environ(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def _os_user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def home_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$HOME``, else the password entry's home."""
    e = _environ(env)
    if e.get("HOME"):
        return Path(e["HOME"])
    try:
        return Path(pwd.getpwuid(os.geteuid()).pw_dir)
    except KeyError:
        return Path(os.path.expanduser("~"))


def works_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$NB_WRKDIR``, else ``~/jupyter/works``."""
    e = _environ(env)
    return Path(e[NB_WRKDIR]) if e.get(NB_WRKDIR) else home_dir(env) / WORKS_RELATIVE


def personal_dir(env: Mapping[str, str] | None = None) -> Path:
    """The personal directory: the first ``NB_PRSNALS`` volume, else the current directory."""
    entries = parse_entries(_environ(env).get(NB_PRSNALS))
    if not entries:
        return Path.cwd()
    works = works_dir(env)
    mount = works / entries[0].mount_relative
    if mount.is_dir():
        return mount
    link = works / entries[0].link_name
    return link if link.is_dir() else mount
