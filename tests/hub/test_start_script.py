"""The container entry script ``start-singleuser.sh`` as root: real setup, real ``setpriv``.

The script runs in a private mount namespace (``unshare --mount``) whose ``/etc`` is a temp copy,
so setup's ``passwd``/``group`` edits stay there; the server it execs is a tiny
``jupyterhub-singleuser`` on ``PATH`` that prints the ids it runs with (issue 12, item 16: an
all-digit teacher login keeps the teachers' group; a refused environment starts no server).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from ipynb_tools.hub import START_SCRIPT
from tests.hostusers import host_users_lock
from tests.requirements import require_root

pytestmark = pytest.mark.root

REPO = Path(__file__).resolve().parents[2]
THR_GID = 47200


@pytest.fixture
def box():
    require_root("the start script drops privileges with setpriv and edits a private /etc")
    base = Path(tempfile.mkdtemp(prefix="ipt-entry-", dir="/tmp"))
    base.chmod(0o755)
    etc = base / "etc"
    with host_users_lock():  # other test runs add and remove host users while /etc is copied
        # a file that vanishes or cannot be read mid-copy is left out; the account files are copied below
        with contextlib.suppress(shutil.Error):
            shutil.copytree("/etc", etc, symlinks=True, ignore=shutil.ignore_patterns("ssl", "alternatives"))
        for name in ("passwd", "group", "shadow"):
            shutil.copy2(Path("/etc") / name, etc / name)
    bin_dir = base / "bin"
    bin_dir.mkdir()
    server = bin_dir / "jupyterhub-singleuser"
    server.write_text('#!/bin/sh\necho "uid=$(id -u) gid=$(id -g) groups=$(id -G) home=$HOME"\n')
    server.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def run_entry(base: Path, **nb: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": f"{base / 'bin'}:/usr/sbin:/usr/bin:/sbin:/bin",
        "PYTHONPATH": str(REPO),
        "IPYNB_TOOLS_PYTHON": sys.executable,
        "NB_THRGID": str(THR_GID),
        "NB_THRGROUP": "ipt-entry-thr",
        **nb,
    }
    inner = f'mount --bind "{base / "etc"}" /etc && exec sh "{START_SCRIPT}"'
    return subprocess.run(["unshare", "--mount", "sh", "-c", inner], env=env, capture_output=True, text=True)


def nb_env(base: Path, user: str, uid: int, *, teacher: bool) -> dict[str, str]:
    home = base / "home" / user
    return {
        "NB_USER": user,
        "NB_UID": str(uid),
        "NB_GID": "100",
        "NB_TEACHER": user if teacher else "",
        "NB_HOME": str(home),
        "NB_WRKDIR": str(home / "jupyter" / "works"),
    }


def test_an_all_digit_teacher_login_keeps_the_teachers_group(box):
    proc = run_entry(box, **nb_env(box, "21001234", 47201, teacher=True))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.strip()
    assert out.startswith("uid=47201 gid=100 ")
    assert str(THR_GID) in out.split("groups=")[1].split(" home=")[0].split()
    assert (box / "etc" / "group").read_text().count(f"ipt-entry-thr:x:{THR_GID}:21001234") == 1


def test_a_student_gets_no_supplementary_group_even_when_sharing_a_uid(box):
    # jovyan-style: another name already has the uid; the student must not get that name's groups
    with open(box / "etc" / "passwd", "a") as f:
        f.write("ipt-other:x:47202:100::/nonexistent:/bin/sh\n")
    with open(box / "etc" / "group", "a") as f:
        f.write(f"ipt-entry-thr:x:{THR_GID}:ipt-other\n")
    proc = run_entry(box, **nb_env(box, "s2024001", 47202, teacher=False))
    assert proc.returncode == 0, proc.stderr
    groups = proc.stdout.split("groups=")[1].split(" home=")[0].split()
    assert groups == ["100"]


def test_a_refused_environment_starts_no_server(box):
    env = nb_env(box, "ok", 47203, teacher=False)
    env["NB_USER"] = "evil\nroot2::0:0::/root:/bin/sh"
    before = (box / "etc" / "passwd").read_bytes()
    proc = run_entry(box, **env)
    assert proc.returncode == 2
    assert "uid=" not in proc.stdout  # the server never ran
    assert "not starting the server" in proc.stderr and "NB_USER" in proc.stderr
    assert (box / "etc" / "passwd").read_bytes() == before
    assert not os.path.exists(box / "home")


def test_a_group_name_the_contract_refuses_starts_no_server(box):
    """NB_GROUP goes into /etc/group: a line break and colons in it are refused with exit 2, no server."""
    env = nb_env(box, "s2024002", 47204, teacher=False)
    env["NB_GROUP"] = "x\nroot2:x:0:s2024002"
    before = (box / "etc" / "group").read_bytes()
    proc = run_entry(box, **env)
    assert proc.returncode == 2, proc.stderr
    assert "uid=" not in proc.stdout and "NB_GROUP" in proc.stderr
    assert (box / "etc" / "group").read_bytes() == before


def server_that_stays(base: Path) -> None:
    """A server that says who started it (its parent's command) and then runs until it is signalled."""
    server = base / "bin" / "jupyterhub-singleuser"
    server.write_text('#!/bin/sh\necho "parent=$(cat /proc/$PPID/comm) uid=$(id -u)"\nexec sleep 120\n')
    server.chmod(0o755)


def test_a_student_who_turned_the_limit_off_is_still_stopped_by_root(box):
    """The server extension runs as the student, who can disable it (``jupyter server extension disable
    --user``) and restart from the course page; root's ``timeout`` still ends the server at limit + grace +
    guard, and the student's uid cannot signal it."""
    server_that_stays(box)
    env = nb_env(box, "s2024005", 47205, teacher=False)
    started = time.monotonic()
    proc = run_entry(box, **env, NB_ACTLIMIT="2", IPYNB_ACTLIMIT_GRACE="1", IPYNB_ACTLIMIT_GUARD="1")
    lived = time.monotonic() - started
    assert proc.returncode == 124, (proc.returncode, proc.stderr)  # timeout's "the time ran out"
    assert proc.stdout.startswith("parent=timeout uid=47205"), proc.stdout
    assert lived < 60, lived  # 4 s of limit + grace + guard, plus setup


@pytest.mark.parametrize(
    ("limit", "grace", "guard"),
    [("0", "120", "60"), ("", "120", "60"), ("5", "1", "12x"), ("5", "1", "-1"), ("5", "1", "1" * 12)],
)
def test_no_root_guard_without_a_limit_or_with_a_value_that_is_not_whole_seconds(box, limit, grace, guard):
    """(setup itself refuses an NB_ACTLIMIT that is no integer: exit 2, no server)"""
    server = box / "bin" / "jupyterhub-singleuser"
    server.write_text('#!/bin/sh\necho "parent=$(cat /proc/$PPID/comm)"\n')
    proc = run_entry(
        box,
        **nb_env(box, "s2024006", 47206, teacher=False),
        NB_ACTLIMIT=limit,
        IPYNB_ACTLIMIT_GRACE=grace,
        IPYNB_ACTLIMIT_GUARD=guard,
    )
    assert proc.returncode == 0, proc.stderr
    assert "parent=timeout" not in proc.stdout
    assert ("no root guard" in proc.stderr) == (limit not in ("0", "")), proc.stderr


def test_leading_zeros_are_decimal_seconds(box):
    """``NB_ACTLIMIT=09`` is 9 s, not an octal error that would stop the start (``set -e``)."""
    server = box / "bin" / "jupyterhub-singleuser"
    server.write_text('#!/bin/sh\necho "parent=$(cat /proc/$PPID/comm)"\n')
    proc = run_entry(box, **nb_env(box, "s2024007", 47207, teacher=False), NB_ACTLIMIT="09", IPYNB_ACTLIMIT_GRACE="08")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "parent=timeout"
