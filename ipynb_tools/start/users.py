"""Users and groups: the container's ``/etc/passwd``, ``/etc/group`` and ``/etc/shadow`` (SPEC 3.3).

Like docker-stacks' ``start.sh``, but with the files rather than ``useradd``
(so it works in any image and is testable with a temp ``etc``): a missing
user is added (a uid already used by another name, such as ``jovyan``, is
allowed, as ``useradd --non-unique`` does); an existing one gets NB_UID/NB_GID
and the home. The user's primary group and the teachers' group are added when
missing; a teacher is a member of the teachers' group, a student is taken out.
Every file is replaced atomically.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..atomic import atomic_write_bytes
from ..environ import StartEnvironment
from ..i18n import _
from .errors import SetupError


def _read_db(path: Path) -> list[list[str]]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    return [line.split(":") for line in text.splitlines() if line.strip()]


def _write_db(path: Path, rows: list[list[str]]) -> None:
    atomic_write_bytes(path, ("".join(":".join(r) + "\n" for r in rows)).encode())


def ensure_user(env: StartEnvironment, home: Path, etc: Path = Path("/etc")) -> str:
    """Make the user, their group and the teachers' group exist; return what changed (one line for the setup log).

    The line is in the container's language (:mod:`ipynb_tools.i18n`: the setup log is the user's).
    Raises :class:`SetupError` when the teachers' group name exists with another gid.
    """
    done: list[str] = []
    groups = _read_db(etc / "group")
    changed_groups = False
    if not any(len(g) > 2 and g[2] == str(env.gid) for g in groups):
        wanted = env.group or env.user  # NB_GROUP (the old spawner's group name), else the user's name
        name = wanted if not any(g[0] == wanted for g in groups) else f"{wanted}-{env.gid}"
        groups.append([name, "x", str(env.gid), ""])
        done.append(_("group %(group)s (%(gid)s) added") % {"group": name, "gid": env.gid})
        changed_groups = True
    thr = next((g for g in groups if len(g) > 3 and g[2] == str(env.teachers_gid)), None)
    if thr is None:
        if any(g[0] == env.teachers_group for g in groups):
            raise SetupError(
                _("%(path)s: group name %(group)s exists with another gid than %(gid)s")
                % {"path": etc / "group", "group": env.teachers_group, "gid": env.teachers_gid}
            )
        thr = [env.teachers_group, "x", str(env.teachers_gid), ""]
        groups.append(thr)
        done.append(_("group %(group)s (%(gid)s) added") % {"group": env.teachers_group, "gid": env.teachers_gid})
        changed_groups = True
    members = [m for m in thr[3].split(",") if m]
    if env.teacher and env.user not in members:
        thr[3] = ",".join([*members, env.user])
        done.append(_("%(user)s added to group %(group)s") % {"user": env.user, "group": thr[0]})
        changed_groups = True
    elif not env.teacher and env.user in members:
        thr[3] = ",".join(m for m in members if m != env.user)
        done.append(_("%(user)s (not a teacher) removed from group %(group)s") % {"user": env.user, "group": thr[0]})
        changed_groups = True
    if changed_groups:
        _write_db(etc / "group", groups)

    users = _read_db(etc / "passwd")
    row = next((u for u in users if u[0] == env.user), None)
    if row is None:
        users.append([env.user, "x", str(env.uid), str(env.gid), "", str(home), "/bin/bash"])
        done.append(_("user %(user)s (%(uid)s:%(gid)s) added") % {"user": env.user, "uid": env.uid, "gid": env.gid})
        _write_db(etc / "passwd", users)
        shadow = etc / "shadow"
        if shadow.exists() and not any(r[0] == env.user for r in _read_db(shadow)):
            days = str(int(time.time() // 86400))
            _write_db(shadow, [*_read_db(shadow), [env.user, "!", days, "0", "99999", "7", "", "", ""]])
    elif len(row) >= 7 and (row[2], row[3], row[5]) != (str(env.uid), str(env.gid), str(home)):
        row[2], row[3], row[5] = str(env.uid), str(env.gid), str(home)
        done.append(
            _("user %(user)s set to %(uid)s:%(gid)s, home %(home)s")
            % {"user": env.user, "uid": env.uid, "gid": env.gid, "home": home}
        )
        _write_db(etc / "passwd", users)
    return "; ".join(done) or _("user %(user)s (%(uid)s:%(gid)s) and group %(group)s (%(group_gid)s) present") % {
        "user": env.user,
        "uid": env.uid,
        "gid": env.gid,
        "group": thr[0],
        "group_gid": env.teachers_gid,
    }
