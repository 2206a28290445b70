"""A user's uid, gid and group name in the container: the old spawner's rules (SPEC 12).

In order, each configurable by the spawner (:class:`ipynb_tools.hub.spawner.LTIContainerSpawner`):

1. the hub host's passwd entry of the user (``lookup_passwd``), group by its gid;
2. else the LMS's extension fields when the launch carries them (``use_lms_fields``): uid
   ``ext_user_userid``; group ``ext_user_groupid`` / ``ext_user_groupname``;
3. else ``uid_base`` (30000) + the LMS ``user_id`` of the launch (Moodle's numeric user id);
   group ``default_gid`` / ``default_group`` (100, ``users``).

The group follows the same order on its own: passwd, else each extension field given, else the
default. Nothing here depends on the hub's database, so a reset of the hub changes no uid (the
earlier rule, 20000 + the hub's user row id, did). Values from the LMS are validated: decimal,
1 to 2**31-1 (never 0, root), a group name usable as a login name.
"""

from __future__ import annotations

import grp
import pwd
from dataclasses import dataclass

from .environ.variables import DEFAULT_GROUP
from .errors import IpynbToolsError, shown
from .launch import LmsUser

__all__ = ["DEFAULT_GID", "DEFAULT_GROUP", "DEFAULT_UID_BASE", "Identity", "IdentityError", "resolve_identity"]
from .usernames import user_name_problem

#: The old spawner's base for uids from the LMS user id (SPEC 12: ``base_id``).
DEFAULT_UID_BASE = 30000
DEFAULT_GID = 100
MAX_ID = 2**31 - 1


class IdentityError(IpynbToolsError):
    """A user whose uid or group cannot be decided from the launch (the message is shown to them)."""


@dataclass(frozen=True)
class Identity:
    """uid, gid, group name, and which rule gave the uid (``passwd``, ``LMS ext_user_userid``,
    ``uid_base + LMS user_id``, or ``user_ids`` for a site hook)."""

    uid: int
    gid: int
    group: str
    source: str


def _lms_id(value: str, what: str) -> int:
    if not value.isascii() or not value.isdigit():
        raise IdentityError(f"the launch's {what} {shown(value)} is not a decimal number")
    number = int(value)
    if not 1 <= number <= MAX_ID:
        raise IdentityError(f"the launch's {what} {number} is out of range (1 to {MAX_ID})")
    return number


def _group_name(name: str, what: str) -> str:
    problem = user_name_problem(name)
    if problem:
        raise IdentityError(f"the launch's {what} {shown(name)} {problem}")
    return name


def resolve_identity(
    user: str,
    lms: LmsUser,
    *,
    lookup_passwd: bool = True,
    use_lms_fields: bool = True,
    uid_base: int = DEFAULT_UID_BASE,
    default_gid: int = DEFAULT_GID,
    default_group: str = DEFAULT_GROUP,
) -> Identity:
    """The identity of ``user`` by the rules of the module docstring.

    Raises :class:`IdentityError` when no rule applies (no passwd entry, no extension uid and no
    numeric LMS ``user_id``) or a value from the LMS is unusable.
    """
    if lookup_passwd:
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            pass
        else:
            try:
                group = grp.getgrgid(entry.pw_gid).gr_name
            except KeyError:
                group = default_group
            return Identity(entry.pw_uid, entry.pw_gid, group, "passwd")
    gid, group = default_gid, default_group
    if use_lms_fields and lms.ext_gid:
        gid = _lms_id(lms.ext_gid, "ext_user_groupid")
    if use_lms_fields and lms.ext_group:
        group = _group_name(lms.ext_group, "ext_user_groupname")
    if use_lms_fields and lms.ext_uid:
        return Identity(_lms_id(lms.ext_uid, "ext_user_userid"), gid, group, "LMS ext_user_userid")
    if not lms.user_id:
        raise IdentityError("the launch has no LMS user_id, so no stable uid can be given: log in again from Moodle")
    uid = uid_base + _lms_id(lms.user_id, "LMS user_id")
    if uid > MAX_ID:
        raise IdentityError(f"uid {uid} (uid_base + LMS user_id) is out of range")
    return Identity(uid, gid, group, "uid_base + LMS user_id")
