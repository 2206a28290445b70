"""Container start setup as root on this host: real users, bind-mounted shared volumes, temp homes.

Marked ``root``: skipped when not root, failing instead when ``CI`` is set.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

from ipynb_tools.environ import (
    SETUP_LOG_RELATIVE,
    STUDENT_UMASK,
    TEACHER_UMASK,
    StartEnvironment,
    UserPaths,
    VolumeEntry,
    read_umask_file,
)
from ipynb_tools.start import PROFILE_SNIPPET, setup
from ipynb_tools.sync import MANIFEST_NAME
from tests.hostusers import host_users_lock
from tests.requirements import require_root

pytestmark = pytest.mark.root

REPO = Path(__file__).resolve().parents[2]
THR_GID = 47000
THR_GROUP = "ipt-thr"
USERS = {"ipt-teacher": 47001, "ipt-alice": 47002, "ipt-bob": 47003}
COURSE, HOST = "98", "lms.example.org"
TASK = f"lms_vol_py_{COURSE}_{HOST}"
SUBMIT = f"lms_sub_py_{COURSE}_{HOST}"
PERSONAL = f"lms_prs_py_{COURSE}_{HOST}"
OTHER_TASK = f"lms_vol_old_{COURSE}_{HOST}"


def umask_file(home: Path) -> Path:
    return UserPaths.for_home(home).umask_file


def read_umask(home: Path) -> int | None:
    return read_umask_file(umask_file(home))


@pytest.fixture(scope="module")
def users():
    """Real users and a teachers' group on this host, removed afterwards."""
    require_root("setup tests create users and change ownership")
    made = []
    with host_users_lock():
        if subprocess.run(["getent", "group", THR_GROUP], capture_output=True).returncode != 0:
            subprocess.run(["groupadd", "-g", str(THR_GID), THR_GROUP], check=True)
            made.append(("group", THR_GROUP))
        for name, uid in USERS.items():
            if subprocess.run(["getent", "passwd", name], capture_output=True).returncode != 0:
                subprocess.run(["useradd", "-M", "-N", "-u", str(uid), "-g", "100", "-s", "/bin/sh", name], check=True)
                made.append(("user", name))
        try:
            yield USERS
        finally:
            for kind, name in reversed(made):
                subprocess.run(["userdel" if kind == "user" else "groupdel", name], capture_output=True)


class Course:
    """A temp "host": an etc directory, engine volumes, and homes whose .volumes mount them (bind mounts)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.etc = base / "etc"
        (self.etc / "profile.d").mkdir(parents=True)
        for name in ("passwd", "group", "shadow"):
            shutil.copy2(Path("/etc") / name, self.etc / name)
        self.engine = base / "engine"
        for full in (TASK, SUBMIT, OTHER_TASK):
            (self.engine / full).mkdir(parents=True)  # root 0755, like a fresh engine volume
        self.mounts: list[Path] = []

    def home(self, user: str) -> Path:
        return self.base / "home" / user

    def works(self, user: str) -> Path:
        return self.home(user) / "jupyter" / "works"

    def env(self, user: str, *, teacher: bool = False, task_access: str = "-課題", **changes) -> StartEnvironment:
        env = StartEnvironment(
            user=user,
            uid=USERS[user],
            gid=100,
            teacher=teacher,
            teachers_gid=THR_GID,
            teachers_group=THR_GROUP,
            umask=TEACHER_UMASK if teacher else STUDENT_UMASK,
            tasks=[VolumeEntry(TASK, task_access)],
            submits=[VolumeEntry(SUBMIT, "提出")],
            personals=[VolumeEntry(PERSONAL, "作業")],
            works_dir=self.works(user),
            home_dir=self.home(user),
        )
        return replace(env, **changes)

    def mount(self, user: str, fulls=(TASK, SUBMIT)) -> None:
        """What the engine does: create the mount points (as root) and mount the volumes."""
        for full in fulls:
            point = self.works(user) / ".volumes" / full
            point.mkdir(parents=True, exist_ok=True)
            subprocess.run(["mount", "--bind", str(self.engine / full), str(point)], check=True)
            self.mounts.append(point)

    def setup(self, env: StartEnvironment, **kwargs):
        lines: list[str] = []
        report = setup(env, etc=self.etc, echo=lines.append, **kwargs)
        report.lines = lines  # type: ignore[attr-defined]
        return report

    def unmount(self) -> None:
        for point in reversed(self.mounts):
            subprocess.run(["umount", "-l", str(point)], capture_output=True)


@pytest.fixture
def course(users):
    base = Path(tempfile.mkdtemp(prefix="ipt-start-", dir="/tmp"))
    base.chmod(0o755)
    c = Course(base)
    try:
        yield c
    finally:
        c.unmount()
        shutil.rmtree(base, ignore_errors=True)


def as_user(
    user: str, *args: str, teacher: bool = False, umask: int | None = None, check: bool = False, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command as ``user`` (with the teachers' group for a teacher)."""
    return subprocess.run(
        list(args),
        user=USERS[user],
        group=100,
        extra_groups=[THR_GID] if teacher else [],
        umask=umask if umask is not None else (TEACHER_UMASK if teacher else STUDENT_UMASK),
        capture_output=True,
        text=True,
        check=check,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "HOME": "/", "PYTHONPATH": str(REPO)},
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def owner(path: Path) -> tuple[int, int]:
    st = os.lstat(path)
    return st.st_uid, st.st_gid


def test_teacher_then_students_get_the_layout_modes_links_and_umask(course):
    task = course.engine / TASK
    (task / "sub").mkdir(mode=0o700)
    (task / "sub" / "data.csv").write_text("1,2\n")
    (task / "kadai-1.ipynb").write_text("{}")
    os.chmod(task / "kadai-1.ipynb", 0o600)
    (task / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(task / "run.sh", 0o700)
    (task / "link").symlink_to("/etc/hostname")

    for user, teacher in (("ipt-teacher", True), ("ipt-alice", False), ("ipt-bob", False)):
        course.mount(user)
        report = course.setup(course.env(user, teacher=teacher))
        assert report.ok, report.lines
        home, works = course.home(user), course.works(user)
        uid = USERS[user]
        for d in (home, home / "jupyter", works, works / ".volumes"):
            assert owner(d) == (uid, 100), d
        assert owner(works / ".volumes" / PERSONAL) == (uid, 100)
        assert mode(works / ".volumes" / PERSONAL) == 0o700
        # links: '-' task link for teachers only; submit and personal for everyone
        links = {p.name: os.readlink(p) for p in works.iterdir() if p.is_symlink()}
        vlinks = {p.name: os.readlink(p) for p in (works / ".volumes").iterdir() if p.is_symlink()}
        expected = {"提出": f".volumes/{SUBMIT}", "作業": f".volumes/{PERSONAL}"}
        expected_v = {"提出": SUBMIT, "作業": PERSONAL}
        if teacher:
            expected["課題"] = f".volumes/{TASK}"
            expected_v["課題"] = TASK
        assert links == expected
        assert vlinks == expected_v
        assert owner(works / "提出") == (uid, 100)
        # umask for the server extension and for shells
        want = TEACHER_UMASK if teacher else STUDENT_UMASK
        assert read_umask(home) == want
        assert umask_file(home).read_text() == f"{want:04o}\n"
        assert owner(umask_file(home)) == (0, 0) and mode(umask_file(home)) == 0o644
        assert (course.etc / PROFILE_SNIPPET).read_text() == f"umask {want:04o}\n"
        log = home / SETUP_LOG_RELATIVE
        assert owner(log) == (uid, 100)
        text = log.read_text()
        assert f"task {TASK}: ok" in text and "end: ok: all steps ok" in text

    # task volume: first teacher owns it, group teachers, dirs 2775, files 0664 (0775 executables)
    assert owner(task) == (USERS["ipt-teacher"], THR_GID) and mode(task) == 0o2775
    assert owner(task / "sub") == (USERS["ipt-teacher"], THR_GID) and mode(task / "sub") == 0o2775
    assert mode(task / "sub" / "data.csv") == 0o664 and mode(task / "kadai-1.ipynb") == 0o664
    assert mode(task / "run.sh") == 0o775
    assert owner(task / "kadai-1.ipynb") == (USERS["ipt-teacher"], THR_GID)
    assert os.lstat(task / "link").st_uid == 0  # links are left alone, never followed
    # submit volume
    sub = course.engine / SUBMIT
    assert owner(sub) == (USERS["ipt-teacher"], THR_GID) and mode(sub) == 0o3777
    assert not os.path.lexists(sub / ".ipynb_checkpoints")  # no shared Jupyter state (issue 12, item 19)
    # users and groups in the container's /etc
    passwd = (course.etc / "passwd").read_text()
    group = {line.split(":")[0]: line.split(":") for line in (course.etc / "group").read_text().splitlines()}
    assert all(f"{u}:" in passwd for u in USERS)
    assert group[THR_GROUP][3].split(",") == ["ipt-teacher"]


def test_what_each_user_may_do_in_the_volumes(course):
    course.mount("ipt-teacher")
    course.mount("ipt-alice")
    course.mount("ipt-bob")
    assert course.setup(course.env("ipt-teacher", teacher=True)).ok
    assert course.setup(course.env("ipt-alice")).ok
    assert course.setup(course.env("ipt-bob")).ok
    t_task = course.works("ipt-teacher") / "課題"
    as_user("ipt-teacher", "sh", "-c", f"echo hello > '{t_task}/new.txt'", teacher=True, check=True)
    assert (course.engine / TASK / "new.txt").read_text() == "hello\n"
    assert owner(course.engine / TASK / "new.txt") == (USERS["ipt-teacher"], THR_GID)  # setgid directory
    a_task = course.works("ipt-alice") / ".volumes" / TASK
    assert as_user("ipt-alice", "cat", f"{a_task}/new.txt").stdout == "hello\n"
    assert as_user("ipt-alice", "sh", "-c", f"echo x > '{a_task}/evil.txt'").returncode != 0
    assert as_user("ipt-alice", "rm", "-f", f"{a_task}/new.txt").returncode != 0
    # submissions: each student's copy readable by teachers, not by the other student
    for student in ("ipt-alice", "ipt-bob"):
        sub = course.works(student) / "提出"
        as_user(student, "sh", "-c", f"echo work of {student} > '{sub}/kadai_{student}.ipynb'", check=True)
    sub = course.engine / SUBMIT
    assert owner(sub / "kadai_ipt-alice.ipynb") == (USERS["ipt-alice"], THR_GID)
    assert mode(sub / "kadai_ipt-alice.ipynb") == 0o640
    bob_view = course.works("ipt-bob") / "提出"
    assert as_user("ipt-bob", "cat", f"{bob_view}/kadai_ipt-alice.ipynb").returncode != 0
    assert as_user("ipt-bob", "rm", "-f", f"{bob_view}/kadai_ipt-alice.ipynb").returncode != 0
    assert (sub / "kadai_ipt-alice.ipynb").exists()
    assert as_user("ipt-bob", "sh", "-c", f"echo overwritten > '{bob_view}/kadai_ipt-alice.ipynb'").returncode != 0
    teacher_view = course.works("ipt-teacher") / "提出"
    for student in ("ipt-alice", "ipt-bob"):
        got = as_user("ipt-teacher", "cat", f"{teacher_view}/kadai_{student}.ipynb", teacher=True, check=True)
        assert got.stdout == f"work of {student}\n"
    # no shared checkpoint folder for students to plant into (checkpoints are private, serverext)
    assert not os.path.lexists(course.works("ipt-bob") / "提出" / ".ipynb_checkpoints")
    # personal directories: private
    a_prs = course.works("ipt-alice") / "作業"
    as_user("ipt-alice", "sh", "-c", f"echo mine > '{a_prs}/notes.txt'", check=True)
    assert as_user("ipt-bob", "cat", f"{a_prs}/notes.txt").returncode != 0
    # the teacher who owns the submit volume may clean it up
    assert as_user("ipt-teacher", "rm", f"{teacher_view}/kadai_ipt-bob.ipynb", teacher=True).returncode == 0


def test_personal_directory_gets_the_task_volume_as_the_user(course):
    course.mount("ipt-teacher")
    assert course.setup(course.env("ipt-teacher", teacher=True)).ok
    task = course.works("ipt-teacher") / "課題"
    as_user(
        "ipt-teacher",
        "sh",
        "-c",
        f"mkdir '{task}/week1' && echo q > '{task}/week1/q.txt' && echo h > '{task}/.h'",
        teacher=True,
        check=True,
    )
    course.mount("ipt-alice")
    report = course.setup(course.env("ipt-alice"))
    assert report.ok, report.lines
    prs = course.works("ipt-alice") / ".volumes" / PERSONAL
    assert (prs / "week1" / "q.txt").read_text() == "q\n"
    assert not (prs / ".h").exists()
    for path in (prs / "week1", prs / "week1" / "q.txt", prs / MANIFEST_NAME):
        assert owner(path) == (USERS["ipt-alice"], 100), path
    assert mode(prs / "week1" / "q.txt") == 0o640  # 0664 & ~0037
    assert mode(prs / "week1") == 0o740
    assert any("sync" in line and "copied 1" in line for line in report.lines)
    # the student edits; the teacher edits; the next start keeps the student's version
    as_user("ipt-alice", "sh", "-c", f"echo answer > '{prs}/week1/q.txt'", check=True)
    as_user(
        "ipt-teacher",
        "sh",
        "-c",
        f"echo q2 > '{task}/week1/q.txt'; echo n > '{task}/week1/new.txt'",
        teacher=True,
        check=True,
    )
    report = course.setup(course.env("ipt-alice"))
    assert report.ok
    assert (prs / "week1" / "q.txt").read_text() == "answer\n"
    assert (prs / "week1" / "new.txt").read_text() == "n\n"
    assert any("kept: week1/q.txt" in line for line in report.lines)


def test_a_large_task_is_copied_by_several_processes_as_the_user(course, monkeypatch):
    """Setup's sync runs in a child that dropped to the student (who here cannot read the interpreter's
    library, so nothing may be imported after the drop): its copy processes, forked from that child,
    copy as the student too (the split thresholds lowered, so a small task is split in three)."""
    from ipynb_tools.sync import tree as sync_tree_module
    from ipynb_tools.sync import workers

    monkeypatch.setattr(workers, "SPLIT_MIN_FILES", 2)
    monkeypatch.setattr(sync_tree_module, "default_workers", lambda: 3)
    course.mount("ipt-teacher")
    assert course.setup(course.env("ipt-teacher", teacher=True)).ok
    task = course.works("ipt-teacher") / "課題"
    script = "; ".join(
        f"mkdir '{task}/w{w}' && for i in 1 2 3 4; do echo $i > '{task}/w{w}/f'$i; done" for w in range(6)
    )
    as_user("ipt-teacher", "sh", "-c", script, teacher=True, check=True)
    course.mount("ipt-alice")
    report = course.setup(course.env("ipt-alice"))
    assert report.ok, report.lines
    assert any("sync" in line and "copied 24" in line for line in report.lines), report.lines
    prs = course.works("ipt-alice") / ".volumes" / PERSONAL
    for w in range(6):
        for i in range(1, 5):
            copy = prs / f"w{w}" / f"f{i}"
            assert copy.read_text() == f"{i}\n" and owner(copy) == (USERS["ipt-alice"], 100), copy
    assert not [p for p in prs.rglob("*") if p.name.endswith(".ipynb-tools-tmp")]


def test_stale_links_are_removed_and_existing_names_win(course):
    works = course.works("ipt-alice")
    (works / ".volumes").mkdir(parents=True)
    (works / "dangling").symlink_to("nowhere")
    (works / ".volumes" / "gone").symlink_to("nowhere")
    (works / ".volumes" / OTHER_TASK).mkdir()  # an old mount point left in the persistent home
    (works / "old").symlink_to(f".volumes/{OTHER_TASK}")  # access link of a volume no longer given
    (works / ".volumes" / "old").symlink_to(OTHER_TASK)
    (works / "mine").symlink_to("/etc")  # the user's own link: kept
    (works / "提出").mkdir()  # a real directory with an access name: not replaced
    course.mount("ipt-alice")
    env = course.env("ipt-alice", task_access=".")
    report = course.setup(env)
    assert report.ok, report.lines
    names = {p.name for p in works.iterdir()}
    assert "dangling" not in names and "old" not in names
    assert not os.path.lexists(works / ".volumes" / "gone") and not os.path.lexists(works / ".volumes" / "old")
    assert os.readlink(works / "mine") == "/etc"
    assert (works / "提出").is_dir() and not (works / "提出").is_symlink()
    assert os.readlink(works / ".volumes" / "提出") == SUBMIT
    assert any("works/提出 exists; not linked" in line for line in report.lines)
    # '.' links the volume under its full name, for students too
    assert os.readlink(works / TASK) == f".volumes/{TASK}"
    # a second start is quiet and changes nothing
    before = {p.name: os.readlink(p) for p in works.iterdir() if p.is_symlink()}
    assert course.setup(env).ok
    assert {p.name: os.readlink(p) for p in works.iterdir() if p.is_symlink()} == before


def test_first_entry_wins_for_a_link_name_and_teacher_only_personal_links(course):
    course.mount("ipt-alice")
    env = course.env("ipt-alice", submits=[VolumeEntry(SUBMIT, "作業")], personals=[VolumeEntry(PERSONAL, "-作業")])
    report = course.setup(env)
    assert report.ok
    assert os.readlink(course.works("ipt-alice") / "作業") == f".volumes/{SUBMIT}"
    env_t = course.env("ipt-teacher", teacher=True, submits=[], personals=[VolumeEntry(PERSONAL, "-mine")])
    course.mount("ipt-teacher", fulls=(TASK,))
    assert course.setup(env_t).ok
    assert os.readlink(course.works("ipt-teacher") / "mine") == f".volumes/{PERSONAL}"


def test_a_failing_step_is_logged_and_the_others_still_run(course):
    course.mount("ipt-alice", fulls=(TASK,))  # the submit volume is not mounted
    report = course.setup(course.env("ipt-alice"))
    assert not report.ok
    assert [s.name for s in report.failed] == [f"submit {SUBMIT}"]
    assert "not mounted" in report.failed[0].message
    assert (course.works("ipt-alice") / ".volumes" / PERSONAL).is_dir()
    assert read_umask(course.home("ipt-alice")) == STUDENT_UMASK
    log = (course.home("ipt-alice") / SETUP_LOG_RELATIVE).read_text()
    assert f"submit {SUBMIT}: FAILED:" in log and "1 step(s) failed" in log


def test_planted_symlinks_are_not_followed(course, tmp_path):
    victim = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        (victim / "f").write_text("root's")
        os.chmod(victim, 0o700)
        os.chmod(victim / "f", 0o600)
        works = course.works("ipt-alice")
        (works / ".volumes").mkdir(parents=True)
        (works / ".volumes" / TASK).symlink_to(victim)  # unmounted volume replaced by a link
        (works / ".volumes" / PERSONAL).symlink_to(victim)
        tool_dir = course.home("ipt-alice") / SETUP_LOG_RELATIVE.parent
        tool_dir.mkdir()
        (tool_dir / SETUP_LOG_RELATIVE.name).symlink_to(victim / "f")
        (tool_dir / "umask").symlink_to(victim / "f")
        report = course.setup(course.env("ipt-alice", submits=[]))
        failed = {s.name for s in report.failed}
        assert failed == {f"task {TASK}"}  # the personal link is set aside, a fresh directory made
        personal = works / ".volumes" / PERSONAL
        assert personal.is_dir() and not personal.is_symlink() and owner(personal) == (USERS["ipt-alice"], 100)
        assert owner(victim) == (0, 0) and mode(victim) == 0o700
        assert (victim / "f").read_text() == "root's" and mode(victim / "f") == 0o600
        assert read_umask(course.home("ipt-alice")) == STUDENT_UMASK
        assert not (tool_dir / SETUP_LOG_RELATIVE.name).is_symlink()
    finally:
        shutil.rmtree(victim)


def test_a_student_is_taken_out_of_the_teachers_group(course):
    lines = (course.etc / "group").read_text().splitlines()
    lines = [
        line + ("," if not line.endswith(":") else "") + "ipt-alice" if line.startswith(THR_GROUP + ":") else line
        for line in lines
    ]
    (course.etc / "group").write_text("\n".join(lines) + "\n")
    course.mount("ipt-alice")
    assert course.setup(course.env("ipt-alice")).ok
    row = next(r for r in (course.etc / "group").read_text().splitlines() if r.startswith(THR_GROUP + ":"))
    assert "ipt-alice" not in row.split(":")[3].split(",")


def test_the_group_is_named_by_nb_group(course):
    """NB_GROUP (the old spawner's group name, issue 16) names the user's new group in /etc/group."""
    env = course.env(
        "ipt-bob",
        uid=47997,
        gid=47996,
        tasks=[],
        submits=[],
        personals=[],
        works_dir=None,
        home_dir=course.base / "home" / "ipt-grpuser",
    )
    env = replace(env, user="ipt-grpuser", group="ipt-g2024")
    assert setup(env, etc=course.etc, echo=lambda line: None).ok
    assert "ipt-g2024:x:47996:" in (course.etc / "group").read_text().splitlines()


def test_missing_users_and_groups_are_added_to_the_containers_etc(course):
    env = course.env(
        "ipt-bob",
        teachers_gid=47100,
        teachers_group="ipt-newthr",
        teacher=True,
        uid=47999,
        gid=47998,
        tasks=[],
        submits=[],
        personals=[],
        works_dir=None,
        home_dir=course.base / "home" / "ipt-newuser",
    )
    env = replace(env, user="ipt-newuser")
    report = setup(env, etc=course.etc, echo=lambda line: None)
    assert report.ok, report.steps
    passwd = (course.etc / "passwd").read_text().splitlines()
    assert f"ipt-newuser:x:47999:47998::{course.base}/home/ipt-newuser:/bin/bash" in passwd
    groups = (course.etc / "group").read_text().splitlines()
    assert "ipt-newuser:x:47998:" in groups and "ipt-newthr:x:47100:ipt-newuser" in groups
    assert any(line.startswith("ipt-newuser:!:") for line in (course.etc / "shadow").read_text().splitlines())
    assert oct(os.stat(course.etc / "shadow").st_mode & 0o777) == oct(os.stat("/etc/shadow").st_mode & 0o777)
    assert owner(course.base / "home" / "ipt-newuser") == (47999, 47998)


def test_cli_reads_the_environment_and_exits_1_when_a_step_fails(course):
    course.mount("ipt-alice", fulls=(TASK,))
    env = course.env("ipt-alice").to_environ()
    env.update(PATH=os.environ["PATH"], PYTHONPATH=str(REPO))
    cmd = [
        sys.executable,
        "-c",
        "from ipynb_tools.cli.main import main; main()",
        "setup",
        "--etc",
        str(course.etc),
    ]
    proc = subprocess.run([*cmd, "-q"], env=env, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert f"submit {SUBMIT}: FAILED" in proc.stderr and "task" not in proc.stderr
    course.mount("ipt-alice", fulls=(SUBMIT,))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "end: ok: all steps ok" in proc.stderr


def test_sync_command_copies_the_same_pairs_as_setup_as_the_user(course):
    """``ipynb-tools sync`` without arguments (as root) pairs directories with task_copies and drops to the user."""
    course.mount("ipt-teacher")
    assert course.setup(course.env("ipt-teacher", teacher=True)).ok
    task = course.works("ipt-teacher") / "課題"
    as_user("ipt-teacher", "sh", "-c", f"echo q > '{task}/q.txt'", teacher=True, check=True)
    course.mount("ipt-alice")
    env = course.env("ipt-alice")
    assert course.setup(env, sync=False).ok
    prs = course.works("ipt-alice") / ".volumes" / PERSONAL
    assert not (prs / "q.txt").exists()
    variables = {**env.to_environ(), "PATH": os.environ["PATH"], "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-c", "from ipynb_tools.cli.main import main; main()", "sync", "-q"]
    proc = subprocess.run(cmd, env=variables, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "copied 1" in proc.stdout
    assert (prs / "q.txt").read_text() == "q\n" and owner(prs / "q.txt") == (USERS["ipt-alice"], 100)


# -- issue 12, items 12, 13, 19, 22: what a student leaves in their home, what the hub passes ------------


def test_an_unmounted_volume_replaced_by_a_students_directory_is_not_touched(course):
    """Item 13: "this is the volume" is decided by the mount point, never by existence."""
    course.mount("ipt-alice", fulls=(SUBMIT,))
    works = course.works("ipt-alice")
    fake = works / ".volumes" / TASK  # the listed task volume is not mounted: alice's own directory
    fake.mkdir(parents=True)
    os.chown(fake, USERS["ipt-alice"], 100)
    (fake / "root-owned").write_text("root's")
    os.chmod(fake / "root-owned", 0o600)
    (fake / "kadai-1.ipynb").write_text("{}")
    report = course.setup(course.env("ipt-alice"))
    task_step = next(s for s in report.steps if s.name == f"task {TASK}")
    assert not task_step.ok and "not mounted" in task_step.message
    assert owner(fake / "root-owned") == (0, 0) and mode(fake / "root-owned") == 0o600
    assert owner(fake) == (USERS["ipt-alice"], 100) and not mode(fake) & 0o2000
    sync_step = next(s for s in report.steps if s.name == f"sync {PERSONAL}")
    assert sync_step.ok and "not mounted" in sync_step.message
    assert not (works / ".volumes" / PERSONAL / "kadai-1.ipynb").exists()
    assert next(s for s in report.steps if s.name == f"submit {SUBMIT}").ok  # the mounted one is done


def test_volumes_and_state_dir_as_symlinks_are_set_aside_and_the_start_goes_on(course):
    """Item 22 (and its siblings works/, ~/.ipynb-tools): one clear outcome, no KeyError, nothing followed."""
    elsewhere = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        works = course.works("ipt-alice")
        works.mkdir(parents=True)
        (works / ".volumes").symlink_to(elsewhere)
        state = course.home("ipt-alice") / SETUP_LOG_RELATIVE.parent
        state.symlink_to(elsewhere)
        report = course.setup(course.env("ipt-alice", tasks=[], submits=[]))
        assert report.ok, report.steps
        assert not any("KeyError" in line for line in report.lines)  # type: ignore[attr-defined]
        home_step = next(s for s in report.steps if s.name == "home")
        assert "set aside" in home_step.message
        assert (works / ".volumes").is_dir() and not (works / ".volumes").is_symlink()
        kept = [p for p in works.iterdir() if p.name.startswith(".volumes.")]
        assert len(kept) == 1 and kept[0].is_symlink() and os.readlink(kept[0]) == str(elsewhere)
        assert state.is_dir() and not state.is_symlink() and (state / SETUP_LOG_RELATIVE.name).is_file()
        assert os.listdir(elsewhere) == []  # nothing written through the links
        assert (works / ".volumes" / PERSONAL).is_dir()
    finally:
        shutil.rmtree(elsewhere)


def test_the_old_shared_checkpoint_folder_is_retired(course):
    """Item 19: the world-writable .ipynb_checkpoints of older setups is renamed and closed to students."""
    sub = course.engine / SUBMIT
    old = sub / ".ipynb_checkpoints"
    old.mkdir()
    os.chmod(old, 0o3777)
    (old / "kadai_ipt-bob-checkpoint.ipynb").write_text("bob's notebook")
    os.chown(old / "kadai_ipt-bob-checkpoint.ipynb", USERS["ipt-bob"], 100)
    os.chmod(old / "kadai_ipt-bob-checkpoint.ipynb", 0o666)
    course.mount("ipt-alice")
    report = course.setup(course.env("ipt-alice"))
    assert report.ok, report.steps
    assert not os.path.lexists(old)
    (retired,) = [p for p in sub.iterdir() if p.name.startswith(".ipynb_checkpoints.retired-")]
    assert mode(retired) == 0o2770 and owner(retired)[1] == THR_GID
    assert (retired / "kadai_ipt-bob-checkpoint.ipynb").read_text() == "bob's notebook"  # kept
    seen = as_user(
        "ipt-alice", "cat", f"{course.works('ipt-alice')}/提出/{retired.name}/kadai_ipt-bob-checkpoint.ipynb"
    )
    assert seen.returncode != 0 and "bob" not in seen.stdout
    # a link a classmate planted under the name is renamed, never followed
    victim = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        os.chmod(victim, 0o700)
        old.symlink_to(victim)
        assert course.setup(course.env("ipt-alice")).ok
        assert not os.path.lexists(old) and owner(victim) == (0, 0) and mode(victim) == 0o700
        assert sum(p.name.startswith(".ipynb_checkpoints.retired-") for p in sub.iterdir()) == 2
    finally:
        shutil.rmtree(victim)


EVIL_USER = "evil\nroot2::0:0::/root:/bin/sh"


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"user": EVIL_USER}, "NB_USER"),
        ({"user": "ipt:alice"}, "NB_USER"),
        ({"group": "x\nroot2:x:0:ipt-alice", "gid": 47999}, "NB_GROUP"),
        ({"user": "daemon"}, "existing system account"),
        ({"teachers_group": "root"}, "existing system group"),
        ({"teachers_group": "thr\nx"}, "NB_THRGROUP"),
        ({"uid": 0}, "NB_UID"),
        ({"gid": 0}, "NB_GID"),
        ({"teachers_gid": 27}, "NB_THRGID"),
        ({"uid": 65534}, "NB_UID"),
        ({"works_dir": Path("/srv/elsewhere/works")}, "not inside the home"),
        ({"home_dir": Path("/tmp/x/../../etc")}, "NB_HOME"),
        ({"home_dir": Path("/etc/ipt")}, "system directory"),
        ({"home_dir": Path("/tmp/a:b")}, "NB_HOME"),
        ({"tasks": [VolumeEntry("..", "x")]}, "full name"),
    ],
)
def test_setup_refuses_bad_values_before_changing_anything(course, changes, named):
    """Item 12: every value checked first; a refused one changes nothing and says what it is."""
    from ipynb_tools.start.validate import SetupEnvironmentError

    etc_before = {name: (course.etc / name).read_bytes() for name in ("passwd", "group", "shadow")}
    env = replace(course.env("ipt-alice"), **changes)
    with pytest.raises(SetupEnvironmentError) as info:
        course.setup(env)
    assert named in str(info.value) and "nothing changed" in str(info.value)
    assert {name: (course.etc / name).read_bytes() for name in etc_before} == etc_before
    assert not (course.base / "home").exists()
    assert not (course.etc / PROFILE_SNIPPET).exists()


@pytest.mark.parametrize(
    ("variable", "value"), [("NB_USER", EVIL_USER), ("NB_GROUP", "x\nroot2:x:0:ipt-alice"), ("NB_UID", "47002x")]
)
def test_cli_refuses_a_bad_name_or_id_with_one_line_and_exit_2(course, variable, value):
    """Exit 2 (start-singleuser.sh then starts no server), whether setup's check or the contract refuses."""
    env = course.env("ipt-alice").to_environ()
    env.update({variable: value, "PATH": os.environ["PATH"], "PYTHONPATH": str(REPO)})
    before = (course.etc / "passwd").read_bytes()
    proc = subprocess.run(
        [sys.executable, "-c", "from ipynb_tools.cli.main import main; main()", "setup", "--etc", str(course.etc)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and variable in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (course.etc / "passwd").read_bytes() == before


def test_a_fifo_as_the_sync_record_never_wedges_the_start(course):
    """Item 9 through root's setup: the user's sync child meets a FIFO where its record belongs."""
    course.mount("ipt-alice")
    (course.engine / TASK / "q.txt").write_text("q\n")
    env = course.env("ipt-alice")
    assert course.setup(env).ok
    record = course.works("ipt-alice") / ".volumes" / PERSONAL / MANIFEST_NAME
    record.unlink()
    os.mkfifo(record)
    os.chown(record, USERS["ipt-alice"], 100)
    variables = {**env.to_environ(), "PATH": os.environ["PATH"], "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-c", "from ipynb_tools.cli.main import main; main()", "setup", "--etc", str(course.etc)]
    proc = subprocess.run(cmd, env=variables, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "set aside" in proc.stderr and "end: ok: all steps ok" in proc.stderr
    assert stat.S_ISREG(os.lstat(record).st_mode)
    kept = [p for p in record.parent.iterdir() if p.name.startswith(".ipynb-tools-sync.") and p != record]
    assert len(kept) == 1 and stat.S_ISFIFO(os.lstat(kept[0]).st_mode)
    proc = subprocess.run(cmd, env=variables, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "set aside" not in proc.stderr  # the next start is clean


def test_directories_where_setup_replaces_its_own_files_are_set_aside(course):
    """Item 9's kind for the state directory: a directory the student put at the umask file's name,
    or at the rotated log's name, is set aside (kept) and the step goes on, at every start."""
    env = course.env("ipt-alice", tasks=[], submits=[])
    assert course.setup(env).ok
    state = course.home("ipt-alice") / SETUP_LOG_RELATIVE.parent
    umask_path = umask_file(course.home("ipt-alice"))
    umask_path.unlink()
    umask_path.mkdir()
    (umask_path / "mine").write_text("kept")
    log = state / SETUP_LOG_RELATIVE.name
    with open(log, "ab") as f:
        f.truncate(2 << 20)  # past the rotation size
    (state / (log.name + ".1")).mkdir()
    (state / (log.name + ".1") / "mine").write_text("kept too")
    report = course.setup(env)
    assert report.ok, report.steps
    assert read_umask(course.home("ipt-alice")) == STUDENT_UMASK
    umask_step = next(s for s in report.steps if s.name == "umask")
    assert "set aside" in umask_step.message
    kept = [p for p in state.iterdir() if p.is_dir()]
    assert sorted((p / "mine").read_text() for p in kept) == ["kept", "kept too"]
    assert (state / (log.name + ".1")).is_file() and log.stat().st_size < 1 << 20
    assert course.setup(env).ok  # and the next start is clean


@pytest.mark.parametrize("planted", ["symlink", "fifo", "file"])
def test_something_else_at_the_personal_directory_is_set_aside_and_the_copy_goes_on(course, planted):
    """Item 9's rule for the personal directory: kept under another name, a fresh one made, the task copied."""
    course.mount("ipt-alice")
    (course.engine / TASK / "q.txt").write_text("q\n")
    env = course.env("ipt-alice")
    assert course.setup(env).ok
    personal = course.works("ipt-alice") / ".volumes" / PERSONAL
    shutil.rmtree(personal)
    elsewhere = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        if planted == "symlink":
            personal.symlink_to(elsewhere)
        elif planted == "fifo":
            os.mkfifo(personal)
        else:
            personal.write_text("mine")
        report = course.setup(env)
        assert report.ok, report.steps
        step = next(s for s in report.steps if s.name == f"personal {PERSONAL}")
        assert "set aside" in step.message
        assert personal.is_dir() and not personal.is_symlink() and (personal / "q.txt").read_text() == "q\n"
        (kept,) = [p for p in personal.parent.iterdir() if p.name.startswith(PERSONAL + ".")]
        if planted == "symlink":
            assert kept.is_symlink() and os.readlink(kept) == str(elsewhere)
        elif planted == "fifo":
            assert stat.S_ISFIFO(os.lstat(kept).st_mode)
        else:
            assert kept.read_text() == "mine"
        assert os.listdir(elsewhere) == []  # nothing written through the link
    finally:
        shutil.rmtree(elsewhere)


def test_a_name_with_a_line_break_cannot_forge_a_log_line(course):
    """A student's dangling link named 'x\\n<time> end: ok: ...' is removed and logged on one line."""
    env = course.env("ipt-alice", tasks=[], submits=[])
    assert course.setup(env).ok
    forged = "x\n2026-01-01 00:00:00 end: ok: all steps ok"
    (course.works("ipt-alice") / forged).symlink_to("/nonexistent")
    report = course.setup(env)
    (line,) = [ln for ln in report.lines if "nonexistent" in ln]  # type: ignore[attr-defined]
    assert "\n" not in line and "x\\n2026" in line
    log = (course.home("ipt-alice") / SETUP_LOG_RELATIVE).read_text()
    assert not any(ln.startswith("2026-01-01") for ln in log.splitlines())


def test_the_setup_log_speaks_the_containers_language(course, monkeypatch):
    """LANGUAGE=ja (the spawner's site language): the setup log's messages are Japanese (issue 16 item 8).

    The line's structure (time, step name, ok/FAILED) stays as it is: programs read it. Every step
    that says something in words says it in Japanese (the links' and the log's lines are only paths).
    """
    monkeypatch.setenv("LANGUAGE", "ja")
    course.mount("ipt-alice", fulls=(TASK,))  # the submit volume is not mounted: one step fails
    report = course.setup(course.env("ipt-alice"))
    assert not report.ok
    log = (course.home("ipt-alice") / SETUP_LOG_RELATIVE).read_text()
    worded = ("start", "user", "home", "umask", "stale-links", f"task {TASK}", f"submit {SUBMIT}", "personal", "end")
    seen = set()
    for line in log.splitlines():
        step, _status, message = re.fullmatch(r"\S+ \S+ (.+?): (ok|FAILED): (.*)", line).groups()  # type: ignore[union-attr]
        if step.startswith(worded):
            seen.add(step.split()[0])
            assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", message), line
    assert seen == {w.split()[0] for w in worded}, log
    assert f"submit {SUBMIT}: FAILED: " in log and "1 個のステップが失敗しました" in log
    assert re.search(r" user: ok: ユーザ ipt-alice を 47002:100、ホーム .* にしました", log) or re.search(
        r" user: ok: ユーザ ipt-alice（47002:100）", log
    ), log
