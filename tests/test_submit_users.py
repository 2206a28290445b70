"""``ipynb_submit`` run as real, different Unix users in a real 3777 (setgid + sticky) directory.

Students ``ipt_alice``, ``ipt_bob`` (and ``ipt_s000``.. ``ipt_s099`` for the concurrency test) share
a primary group, like students in a container share ``users``; the teacher ``ipt_tom`` is in the
teachers' group ``ipt_teachers`` (gid 7000), which owns the submit directory. Every command runs
in a subprocess as that user (its own uid, gid, supplementary groups and the student umask 0037),
with the project's console script. Marked ``root``: skipped when not root, failing under ``CI``.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.hostusers import host_users_lock
from tests.requirements import require_root

pytestmark = pytest.mark.root

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TEACHERS = ("ipt_teachers", 7000)
STUDENTS_GROUP = ("ipt_students", 7001)
TEACHER = ("ipt_tom", 7100)
NAMED = {"ipt_alice": 7101, "ipt_bob": 7102, "ipt_carol": 7103}
MANY = {f"ipt_s{i:03d}": 7200 + i for i in range(100)}
FULL = "lms_sub_k1_42_lms.example.org"
ACCESS = "課題1提出用"
STUDENT_UMASK = 0o037


def _exists(kind: str, name: str) -> bool:
    return subprocess.run(["getent", kind, name], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def users():
    """The teachers' and students' groups, a teacher, named students and 100 more; removed afterwards."""
    require_root("submit user tests create users and drop privileges")
    made: list[tuple[str, str]] = []
    with host_users_lock():
        for name, gid in (TEACHERS, STUDENTS_GROUP):
            if not _exists("group", name):
                subprocess.run(["groupadd", "-g", str(gid), name], check=True)
                made.append(("group", name))
        everyone = {TEACHER[0]: TEACHER[1], **NAMED, **MANY}
        for name, uid in everyone.items():
            if not _exists("passwd", name):
                extra = ["-G", TEACHERS[0]] if name == TEACHER[0] else []
                subprocess.run(
                    ["useradd", "-M", "-N", "-u", str(uid), "-g", STUDENTS_GROUP[0], *extra, "-s", "/bin/sh", name],
                    check=True,
                )
                made.append(("user", name))
        try:
            yield everyone
        finally:
            for kind, name in reversed(made):
                subprocess.run(["userdel" if kind == "user" else "groupdel", name], capture_output=True)


def _runs_as_other_user(python: Path) -> bool:
    try:
        probe = subprocess.run(
            [str(python), "-c", "import click, ipynb_tools.submit"],
            user=65534,
            group=65534,
            extra_groups=[],
            capture_output=True,
            cwd="/",
        )
    except OSError:
        return False
    return probe.returncode == 0


@pytest.fixture(scope="module")
def user_bin(users):
    """A bin directory with ``python`` and ``ipynb_submit`` that the test users can run.

    The venv's own when they can (CI); else (the venv's interpreter lives in root's 0700 home,
    as with pyenv) a small venv of a system interpreter of the same version that reads the
    project's venv site-packages, with the same console script.
    """
    if _runs_as_other_user(BIN / "python"):
        yield BIN
        return
    import sysconfig

    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = next((Path(d) / version for d in ("/usr/bin", "/usr/local/bin") if (Path(d) / version).exists()), None)
    if system is None:
        pytest.fail(f"the venv's python cannot run as another user and there is no system {version}; chmod a+rX it")
    base = Path(tempfile.mkdtemp(prefix="ipt-submit-venv-"))
    os.chmod(base, 0o755)
    venv = base / "venv"
    subprocess.run([str(system), "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = Path(
        subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (purelib / "_ipt_project_venv.pth").write_text(
        f"import site; site.addsitedir({sysconfig.get_paths()['purelib']!r})\n"
    )
    script = (BIN / "ipynb_submit").read_text().split("\n", 1)[1]
    (venv / "bin" / "ipynb_submit").write_text(f"#!{venv / 'bin' / 'python'}\n{script}")
    os.chmod(venv / "bin" / "ipynb_submit", 0o755)
    subprocess.run(["chmod", "-R", "a+rX", str(base)], check=True)
    assert _runs_as_other_user(venv / "bin" / "python"), "the runner venv does not work as another user"
    try:
        yield venv / "bin"
    finally:
        shutil.rmtree(base, ignore_errors=True)


class Course:
    """A temp course: a shared works directory with a 3777 submit volume, homes, console script."""

    def __init__(self, base: Path, users: dict[str, int], bin_dir: Path) -> None:
        self.base = base
        self.users = users
        self.bin = bin_dir
        self.works = base / "works"
        self.volume = self.works / ".volumes" / FULL
        self.volume.mkdir(parents=True)
        os.chown(self.volume, 0, TEACHERS[1])
        os.chmod(self.volume, 0o3777)
        (self.works / ACCESS).symlink_to(f".volumes/{FULL}")
        for d in (base, self.works, self.works / ".volumes"):
            os.chmod(d, 0o755)

    def uid(self, user: str) -> int:
        return self.users[user]

    def home(self, user: str) -> Path:
        home = self.base / "home" / user
        if not home.exists():
            home.mkdir(parents=True)
            os.chmod(home.parent, 0o755)
            os.chown(home, self.uid(user), STUDENTS_GROUP[1])
            os.chmod(home, 0o700)
        return home

    def notebook(self, user: str, name: str = "kadai-1.ipynb", text: str = "print('hello')", *, sub: str = "") -> Path:
        """A notebook in the user's home, owned by them, 0640 like their umask makes it."""
        folder = self.home(user) / sub if sub else self.home(user)
        if not folder.exists():
            folder.mkdir(parents=True)
            os.chown(folder, self.uid(user), STUDENTS_GROUP[1])
        path = folder / name
        path.write_text(
            json.dumps(make_nb(text), indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        os.chown(path, self.uid(user), STUDENTS_GROUP[1])
        os.chmod(path, 0o640)
        return path

    def env(self, user: str, **extra: str) -> dict[str, str]:
        env = {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "HOME": str(self.home(user)),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "NB_USER": user,
            "NB_WRKDIR": str(self.works),
            "NB_SUBMITS": f".volumes/{FULL}:{ACCESS}",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        env.update(extra)
        return env

    def popen_args(self, user: str, args: list[str], **extra: str) -> dict:
        teacher = user == TEACHER[0]
        return {
            "args": [str(self.bin / "ipynb_submit"), *args],
            "user": self.uid(user),
            "group": STUDENTS_GROUP[1],
            "extra_groups": [TEACHERS[1]] if teacher else [],
            "umask": 0o033 if teacher else STUDENT_UMASK,
            "env": self.env(user, **extra),
            "cwd": str(self.home(user)),
        }

    def submit(self, user: str, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        kw = self.popen_args(user, list(args), **extra)
        return subprocess.run(kw.pop("args"), capture_output=True, text=True, timeout=120, **kw)

    def as_user(self, user: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
        """Any command as ``user`` (to try reading, planting links...)."""
        kw = self.popen_args(user, [])
        kw.pop("args")
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)

    def listing(self) -> dict[str, os.stat_result]:
        return {n: os.lstat(self.volume / n) for n in os.listdir(self.volume)}


def make_nb(text: str, cells: int = 2) -> dict:
    return {
        "cells": [
            {"cell_type": "markdown", "id": "m0", "metadata": {}, "source": ["# 課題 1\n", "説明"]},
            *[
                {
                    "cell_type": "code",
                    "execution_count": i,
                    "id": f"c{i}",
                    "metadata": {"tags": ["filename:kadai-1.ipynb", f"codenum:{i}"]},
                    "outputs": [{"name": "stdout", "output_type": "stream", "text": [f"{text} {i}\n"]}],
                    "source": [text],
                }
                for i in range(1, cells + 1)
            ],
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


@pytest.fixture
def course(users, user_bin):
    base = Path(tempfile.mkdtemp(prefix="ipt-submit-"))
    try:
        yield Course(base, users, user_bin)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def record_of(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))["metadata"]["ipynb_tools"]["submission"]


# -- the basic rules -------------------------------------------------------------------------------
def test_student_copy_is_theirs_teachers_group_0640_with_record(course: Course) -> None:
    src = course.notebook("ipt_alice")
    r = course.submit("ipt_alice", "kadai-1.ipynb", ACCESS)
    assert r.returncode == 0, r.stderr
    copy = course.volume / "kadai-1_ipt_alice.ipynb"
    st = os.lstat(copy)
    assert stat.S_ISREG(st.st_mode)
    assert (st.st_uid, st.st_gid) == (NAMED["ipt_alice"], TEACHERS[1])
    assert stat.S_IMODE(st.st_mode) == 0o640
    rec = record_of(copy)
    assert rec["user"] == "ipt_alice" and rec["os_user"] == "ipt_alice" and rec["uid"] == NAMED["ipt_alice"]
    import hashlib

    assert rec["source_sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert rec["submitted_at"].endswith("Z")
    assert json.loads(copy.read_text())["cells"] == json.loads(src.read_text())["cells"]
    # the receipt line names the copy and its hash, and the log in the home has the same
    assert f"{ACCESS}/kadai-1_ipt_alice.ipynb" in r.stdout
    assert hashlib.sha256(copy.read_bytes()).hexdigest() in r.stdout
    log = (course.home("ipt_alice") / ".ipynb-tools" / "submit.log").read_text().splitlines()
    assert json.loads(log[-1])["sha256"] == hashlib.sha256(copy.read_bytes()).hexdigest()
    assert stat.S_IMODE(os.stat(course.home("ipt_alice") / ".ipynb-tools").st_mode) == 0o700
    # only the copy is in the directory: no temp file left behind
    assert sorted(course.listing()) == ["kadai-1_ipt_alice.ipynb"]


def test_only_target_is_the_default_and_prefix_form_is_available(course: Course) -> None:
    course.notebook("ipt_alice")
    assert course.submit("ipt_alice", "kadai-1.ipynb").returncode == 0
    r = course.submit("ipt_alice", "--name-format", "prefix", "kadai-1.ipynb")
    assert r.returncode == 0, r.stderr
    r = course.submit("ipt_alice", "kadai-1.ipynb", IPYNB_SUBMIT_NAME_FORMAT="{user}-{stem}{suffix}")
    assert r.returncode == 0, r.stderr
    assert sorted(course.listing()) == ["ipt_alice-kadai-1.ipynb", "ipt_alice_kadai-1.ipynb", "kadai-1_ipt_alice.ipynb"]


def test_other_student_cannot_read_teacher_reads_all(course: Course) -> None:
    for user in ("ipt_alice", "ipt_bob"):
        course.notebook(user, text=f"secret of {user}")
        assert course.submit(user, "kadai-1.ipynb", ACCESS).returncode == 0
    alice_copy = course.volume / "kadai-1_ipt_alice.ipynb"
    denied = course.as_user("ipt_bob", ["cat", str(alice_copy)])
    assert denied.returncode != 0 and "Permission denied" in denied.stderr
    assert "secret of ipt_alice" not in denied.stdout
    # bob cannot copy it either, nor hard-link it under his own name and read it
    denied = course.as_user("ipt_bob", ["cp", str(alice_copy), str(course.home("ipt_bob") / "loot")])
    assert denied.returncode != 0
    for user in ("ipt_alice", "ipt_bob"):
        read = course.as_user(TEACHER[0], ["cat", str(course.volume / f"kadai-1_{user}.ipynb")])
        assert read.returncode == 0, read.stderr
        assert f"secret of {user}" in read.stdout
        json.loads(read.stdout)


def test_not_a_notebook_wrong_version_too_large_nothing_written(course: Course) -> None:
    home = course.home("ipt_alice")
    (home / "bad.ipynb").write_text("{not json")
    (home / "old.ipynb").write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "worksheets": [], "metadata": {}}))
    (home / "big.ipynb").write_text(json.dumps(make_nb("x" * 3_000_000)))
    (home / "notes.txt").write_text("hello")
    for p in home.iterdir():
        os.chown(p, NAMED["ipt_alice"], STUDENTS_GROUP[1])
    cases = {
        "bad.ipynb": "not valid JSON",
        "old.ipynb": "nbformat 3",
        "big.ipynb": "over the limit of 1.0 MB",
        "notes.txt": "only .ipynb",
        "missing.ipynb": "no such file",
    }
    for name, message in cases.items():
        r = course.submit("ipt_alice", name, ACCESS, IPYNB_SUBMIT_MAX_MB="1")
        assert r.returncode == 1, (name, r.stdout)
        assert r.stderr.startswith("ipynb_submit: error: ") and message in r.stderr, (name, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert course.listing() == {}


def test_user_name_that_escapes_is_refused(course: Course) -> None:
    course.notebook("ipt_alice")
    for bad in ("../ipt_bob", "x/../../etc", "..", ".hidden"):
        r = course.submit("ipt_alice", "kadai-1.ipynb", ACCESS, JUPYTERHUB_USER=bad)
        assert r.returncode == 1 and "cannot be used in a file name" in r.stderr, (bad, r.stderr)
    r = course.submit("ipt_alice", "kadai-1.ipynb", ACCESS, IPYNB_SUBMIT_NAME_FORMAT="../{user}{suffix}")
    assert r.returncode == 1 and "error" in r.stderr
    assert course.listing() == {}
    assert not (course.works / ".volumes" / "ipt_alice.ipynb").exists()


def test_unknown_target_lists_known_ones(course: Course) -> None:
    course.notebook("ipt_alice")
    r = course.submit("ipt_alice", "kadai-1.ipynb", "課題2提出用")
    assert r.returncode == 1
    assert f"unknown submit target '課題2提出用'; known targets: {ACCESS}" in r.stderr


# -- planted links and files -----------------------------------------------------------------------
def fallback_copies(course: Course, name: str = "kadai-1_ipt_alice") -> list[str]:
    return sorted(n for n in course.listing() if re.fullmatch(rf"{name}~[0-9a-f]{{16}}\.ipynb", n))


def test_symlink_planted_by_another_student_is_not_followed_or_replaced(course: Course) -> None:
    course.notebook("ipt_alice")
    bob_home = course.home("ipt_bob")
    loot = bob_home / "loot.ipynb"
    link = course.volume / "kadai-1_ipt_alice.ipynb"
    planted = course.as_user("ipt_bob", ["ln", "-s", str(loot), str(link)])
    assert planted.returncode == 0, planted.stderr
    os.chmod(bob_home, 0o777)  # even a target alice could write into must not be written
    r = course.submit("ipt_alice", "kadai-1.ipynb", ACCESS)
    assert r.returncode == 0, r.stderr  # a planted link never blocks a hand-in (issue 12, item 6)
    assert "kadai-1_ipt_alice.ipynb is taken by a symlink of ipt_bob (uid 7102)" in r.stdout + r.stderr
    assert not loot.exists()
    assert os.readlink(link) == str(loot) and os.lstat(link).st_uid == NAMED["ipt_bob"]
    (copy,) = fallback_copies(course)
    assert os.lstat(course.volume / copy).st_uid == NAMED["ipt_alice"]
    assert sorted(course.listing()) == sorted(["kadai-1_ipt_alice.ipynb", copy])
    # a link to alice's own source notebook: the source is not touched either
    os.unlink(link)
    src = course.home("ipt_alice") / "kadai-1.ipynb"
    before = src.read_bytes()
    assert course.as_user("ipt_bob", ["ln", "-s", str(src), str(link)]).returncode == 0
    assert course.submit("ipt_alice", "kadai-1.ipynb", ACCESS).returncode == 0
    assert src.read_bytes() == before
    assert fallback_copies(course) == [copy]  # the same fallback copy is replaced


def test_file_planted_by_another_student_is_not_replaced(course: Course) -> None:
    course.notebook("ipt_alice")
    planted = course.volume / "kadai-1_ipt_alice.ipynb"
    r = course.as_user("ipt_bob", ["sh", "-c", f"umask 000; echo fake > '{planted}'"])
    assert r.returncode == 0, r.stderr
    r = course.submit("ipt_alice", "kadai-1.ipynb", ACCESS)
    assert r.returncode == 0, r.stderr
    assert "kadai-1_ipt_alice.ipynb is taken by a file of ipt_bob (uid 7102)" in r.stdout + r.stderr
    assert planted.read_text() == "fake\n" and os.lstat(planted).st_uid == NAMED["ipt_bob"]
    assert len(fallback_copies(course)) == 1


def test_cannot_replace_another_students_submission_by_claiming_their_name(course: Course) -> None:
    course.notebook("ipt_bob", text="bob's work")
    assert course.submit("ipt_bob", "kadai-1.ipynb", ACCESS).returncode == 0
    before = (course.volume / "kadai-1_ipt_bob.ipynb").read_bytes()
    course.notebook("ipt_alice", text="alice pretending")
    r = course.submit("ipt_alice", "kadai-1.ipynb", ACCESS, JUPYTERHUB_USER="ipt_bob")
    assert r.returncode == 1 and "belongs to ipt_bob" in r.stderr
    assert (course.volume / "kadai-1_ipt_bob.ipynb").read_bytes() == before
    # and bob's own resubmission still works
    assert course.submit("ipt_bob", "kadai-1.ipynb", ACCESS).returncode == 0


def test_planted_close_file_is_ignored_teachers_is_obeyed(course: Course) -> None:
    course.notebook("ipt_alice")
    os.chown(course.volume, TEACHER[1], TEACHERS[1])  # a teacher's start makes them owner
    os.chmod(course.volume, 0o3777)
    close = course.volume / ".ipynb_submit_close"
    assert course.as_user("ipt_bob", ["sh", "-c", f"echo 1000000000 > '{close}'"]).returncode == 0
    assert course.submit("ipt_alice", "kadai-1.ipynb", ACCESS).returncode == 0  # bob cannot close it
    assert course.as_user("ipt_bob", ["rm", "-f", str(close)]).returncode == 0
    assert course.as_user(TEACHER[0], ["sh", "-c", f"echo 2001-09-09T01:46:40Z > '{close}'"]).returncode == 0
    r = course.submit("ipt_alice", "kadai-1.ipynb", ACCESS)
    assert r.returncode == 1
    assert "submissions closed at 2001-09-09 01:46:40 UTC" in r.stderr


def test_late_submission_refused_from_spawner_environment(course: Course) -> None:
    course.notebook("ipt_alice")
    past = int(time.time()) - 60
    r = course.submit("ipt_alice", "kadai-1.ipynb", ACCESS, NB_SUBMITS_CLOSE=f"{FULL}={past}")
    assert r.returncode == 1 and "submissions closed at" in r.stderr and "nothing was submitted" in r.stderr
    assert course.listing() == {}
    future = int(time.time()) + 3600
    r = course.submit("ipt_alice", "kadai-1.ipynb", ACCESS, NB_SUBMITS_CLOSE=f"{FULL}={future}")
    assert r.returncode == 0, r.stderr


# -- history ---------------------------------------------------------------------------------------
def test_resubmission_replaces_and_keeps_the_earlier_one(course: Course) -> None:
    course.notebook("ipt_alice", text="first")
    r1 = course.submit("ipt_alice", "kadai-1.ipynb", ACCESS)
    course.notebook("ipt_alice", text="second")
    r2 = course.submit("ipt_alice", "kadai-1.ipynb", ACCESS)
    assert r1.returncode == r2.returncode == 0
    assert "replaces your earlier copy, kept" in r2.stdout
    copy = course.volume / "kadai-1_ipt_alice.ipynb"
    assert "second" in copy.read_text()
    kept = sorted((course.home("ipt_alice") / ".ipynb-tools" / "submissions" / FULL).iterdir())
    assert len(kept) == 2 and "first" in kept[0].read_text() and "second" in kept[1].read_text()
    assert all(stat.S_IMODE(os.stat(k).st_mode) == 0o600 and os.stat(k).st_uid == NAMED["ipt_alice"] for k in kept)
    listing = course.submit("ipt_alice", "--list", "--history")
    assert listing.returncode == 0, listing.stderr
    import hashlib

    for k in kept:
        assert hashlib.sha256(k.read_bytes()).hexdigest() in listing.stdout
    assert listing.stdout.count("current") == 1 and listing.stdout.count("kept") == 2
    # bob sees none of alice's submissions in his list
    assert "no submissions" in course.submit("ipt_bob", "--list").stdout


def test_submit_all_warns_no_changes(course: Course) -> None:
    for name in ("kadai-1.ipynb", "kadai-2.ipynb"):
        course.notebook("ipt_alice", name, sub="personal")
    personal = course.home("ipt_alice") / "personal"
    env = {"NB_PRSNALS": ""}
    first = course.submit("ipt_alice", "--all", ACCESS, **env, HOME=str(course.home("ipt_alice")))
    # without NB_PRSNALS the current directory is used: the home has no notebooks
    assert first.returncode == 0 and "submitted 0" in first.stdout
    kw = course.popen_args("ipt_alice", ["--all"])
    kw["cwd"] = str(personal)
    r = subprocess.run(kw.pop("args"), capture_output=True, text=True, **kw)
    assert r.returncode == 0, r.stderr
    assert "submitted 2, unchanged 0" in r.stdout
    r = subprocess.run(course.popen_args("ipt_alice", ["--all"])["args"], capture_output=True, text=True, **kw)
    assert "submitted 0, unchanged 2" in r.stdout
    assert r.stderr.count("no changes since your last submission") == 2
    course.notebook("ipt_alice", "kadai-2.ipynb", text="changed", sub="personal")
    r = subprocess.run(course.popen_args("ipt_alice", ["--all"])["args"], capture_output=True, text=True, **kw)
    assert "submitted 1, unchanged 1" in r.stdout
    assert sorted(course.listing()) == ["kadai-1_ipt_alice.ipynb", "kadai-2_ipt_alice.ipynb"]


# -- concurrency -----------------------------------------------------------------------------------
def test_100_students_in_parallel_and_20_submissions_of_one_student(course: Course) -> None:
    import hashlib

    for user in MANY:
        course.notebook(user, text=f"work of {user}")
    for i in range(20):
        course.notebook("ipt_carol", text=f"version {i}", sub=f"v{i:02d}")

    def run(job: tuple[str, str]) -> subprocess.CompletedProcess[str]:
        user, cwd = job
        kw = course.popen_args(user, ["kadai-1.ipynb", ACCESS])
        kw["cwd"] = cwd
        return subprocess.run(kw.pop("args"), capture_output=True, text=True, timeout=300, **kw)

    jobs = [(u, str(course.home(u))) for u in MANY]
    jobs += [("ipt_carol", str(course.home("ipt_carol") / f"v{i:02d}")) for i in range(20)]
    random.Random(3).shuffle(jobs)
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(run, jobs))
    failures = [(job, r.stderr) for job, r in zip(jobs, results, strict=True) if r.returncode != 0]
    assert not failures, failures[:3]

    listing = course.listing()
    assert sorted(listing) == sorted([f"kadai-1_{u}.ipynb" for u in MANY] + ["kadai-1_ipt_carol.ipynb"])
    for user in MANY:
        path = course.volume / f"kadai-1_{user}.ipynb"
        nb = json.loads(path.read_text(encoding="utf-8"))  # none corrupt
        assert nb["cells"][1]["source"] == [f"work of {user}"]
        assert nb["metadata"]["ipynb_tools"]["submission"]["user"] == user
        st = listing[path.name]
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (MANY[user], TEACHERS[1], 0o640)
        receipt = next(r for j, r in zip(jobs, results, strict=True) if j[0] == user)
        assert hashlib.sha256(path.read_bytes()).hexdigest() in receipt.stdout

    # the same student: the latest submission wins, all 20 are kept and logged
    state = course.home("ipt_carol") / ".ipynb-tools"
    log = [json.loads(line) for line in (state / "submit.log").read_text().splitlines()]
    assert len(log) == 20
    latest = max(log, key=lambda e: e["submitted_at"])
    final = course.volume / "kadai-1_ipt_carol.ipynb"
    assert record_of(final)["submitted_at"] == latest["submitted_at"]
    assert hashlib.sha256(final.read_bytes()).hexdigest() == latest["sha256"]
    kept = sorted((state / "submissions" / FULL).iterdir())
    assert len(kept) == 20
    versions = set()
    for k in kept:
        nb = json.loads(k.read_text(encoding="utf-8"))
        versions.add(nb["cells"][1]["source"][0])
    assert versions == {f"version {i}" for i in range(20)}
    assert {e["sha256"] for e in log} == {hashlib.sha256(k.read_bytes()).hexdigest() for k in kept}


# -- killed mid-copy -------------------------------------------------------------------------------
KILL_HOOK = r"""
import os, signal, sys
volume = sys.argv.pop(1)
real_write = os.write
def write(fd, data):
    try:
        where = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        where = ""
    if where.startswith(volume):
        real_write(fd, bytes(data[: len(data) // 2]))
        os.kill(os.getpid(), signal.SIGKILL)
    return real_write(fd, data)
os.write = write
if os.environ.get("NO_TMPFILE"):
    del os.O_TMPFILE
from ipynb_tools.cli.submit import main
sys.argv[0] = "ipynb_submit"
main()
"""


@pytest.mark.parametrize("anonymous", [True, False], ids=["O_TMPFILE", "named-temp"])
def test_killed_mid_copy_leaves_no_partial_notebook(course: Course, anonymous: bool) -> None:
    course.notebook("ipt_alice", text="first")
    assert course.submit("ipt_alice", "kadai-1.ipynb", ACCESS).returncode == 0
    final = course.volume / "kadai-1_ipt_alice.ipynb"
    before = final.read_bytes()
    course.notebook("ipt_alice", text="second " * 50_000)
    extra = {} if anonymous else {"NO_TMPFILE": "1"}
    kw = course.popen_args("ipt_alice", [], **extra)
    kw.pop("args")
    r = subprocess.run(
        [str(course.bin / "python"), "-c", KILL_HOOK, str(os.path.realpath(course.volume)), "kadai-1.ipynb", ACCESS],
        capture_output=True,
        text=True,
        timeout=120,
        **kw,
    )
    assert r.returncode == -signal.SIGKILL, (r.returncode, r.stderr)
    assert final.read_bytes() == before  # the earlier copy, whole
    names = sorted(course.listing())
    if anonymous:
        assert names == [final.name]  # the half-written file never had a name
    else:
        # a hidden, non-.ipynb temp may remain; it is never a notebook name, and the next run removes it
        assert [n for n in names if not n.startswith(".")] == [final.name]
        assert all(
            n.startswith(f".ipynb_submit.{NAMED['ipt_alice']}.") and n.endswith(".tmp")
            for n in names
            if n.startswith(".")
        )
    for name in names:
        if not name.startswith("."):
            json.loads((course.volume / name).read_text(encoding="utf-8"))
    r = course.submit("ipt_alice", "kadai-1.ipynb", ACCESS, **extra)
    assert r.returncode == 0, r.stderr
    assert sorted(course.listing()) == [final.name]
    assert "second" in final.read_text()


def test_killed_at_random_moments_never_leaves_a_partial_notebook(course: Course) -> None:
    course.notebook("ipt_alice", text="x" * 200_000)
    rng = random.Random(7)
    final = course.volume / "kadai-1_ipt_alice.ipynb"
    for round_ in range(25):
        course.notebook("ipt_alice", text=f"round {round_} " + "y" * rng.randint(100_000, 3_000_000))
        kw = course.popen_args("ipt_alice", ["kadai-1.ipynb", ACCESS])
        proc = subprocess.Popen(kw.pop("args"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for name in os.listdir(course.volume):
            path = course.volume / name
            st = os.lstat(path)
            assert stat.S_ISREG(st.st_mode)
            # every name in the directory is a complete notebook (O_TMPFILE: no name before complete)
            nb = json.loads(path.read_text(encoding="utf-8"))
            assert nb["metadata"]["ipynb_tools"]["submission"]["user"] == "ipt_alice"
        assert not final.exists() or stat.S_IMODE(os.lstat(final).st_mode) == 0o640


# -- a path through the student's own link into a folder they may not enter (issue 12, item 20) --------
def test_a_path_into_an_unreadable_folder_is_one_line_not_a_traceback(course: Course) -> None:
    course.notebook("ipt_alice")
    locked = course.home("ipt_alice") / "locked"  # inside the server root (the home), root's 0700
    (locked / "inner").mkdir(parents=True)
    os.chmod(locked, 0o700)  # alice may not enter
    link = course.home("ipt_alice") / "mine"
    assert course.as_user("ipt_alice", ["ln", "-s", str(locked), str(link)]).returncode == 0
    # as the target (ipynb_submit's own rules, and the endpoint's known_only rules)
    r = course.submit("ipt_alice", "kadai-1.ipynb", "mine/inner")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines() == [
        "ipynb_submit: error: submit target 'mine/inner': cannot look at it (Permission denied)"
    ]
    # as the notebook
    r = course.submit("ipt_alice", "mine/inner/x.ipynb", ACCESS)
    assert r.returncode == 1 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    # what the server extension answers for both, run as alice (the server runs as the student)
    probe = (
        "import os, sys\n"
        "from ipynb_tools.serverext.handlers import ApiError, resolve_api_path, status_for\n"
        "from ipynb_tools import submit as lib\n"
        "try:\n"
        "    resolve_api_path('mine/inner/x.ipynb', os.environ['HOME'])\n"
        "except ApiError as exc:\n"
        "    print(exc.status_code, exc.message)\n"
        "try:\n"
        "    lib.resolve_target(os.environ['HOME'] + '/mine/inner', known_only=True)\n"
        "except lib.SubmitError as exc:\n"
        "    print(status_for(exc), exc)\n"
    )
    r = course.as_user("ipt_alice", [str(course.bin / "python"), "-c", probe])
    assert r.returncode == 0, r.stderr
    home = course.home("ipt_alice")
    assert r.stdout.splitlines() == [
        "403 mine/inner/x.ipynb: cannot be read (Permission denied)",
        f"403 submit target '{home}/mine/inner': cannot look at it (Permission denied)",
    ]
    assert course.listing() == {}
