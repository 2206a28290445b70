"""What a student leaves in their personal directory never wedges or steers sync (issue 12, items 9-11).

Item 9: a FIFO, a link or a directory where the sync record (manifest) belongs is set aside
(kept) and the record rebuilt; the sync never waits on it. Item 10: a task sub-directory the
student replaced by a symlink is never read, written or cleaned through. Item 11: a sync killed
between placing a copy and saving its record still knows the copy is the task's.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from ipynb_tools.fileops import TEMP_SUFFIX
from ipynb_tools.sync import KEPT, MANIFEST_NAME, MOVED_ASIDE, PRUNED, UNCHANGED, UPDATED, sync_tree

REPO = Path(__file__).resolve().parents[2]
NOW = time.mktime((2026, 4, 1, 10, 20, 30, 0, 0, -1))
STAMP = "20260401-102030"
ASIDE = MANIFEST_NAME.replace(".json", f".{STAMP}.json")  # where an unusable record is kept


def write(path: Path, data: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data)
    return path


def later(path: Path, data: str) -> None:
    """Rewrite a file so its mtime surely moves (coarse-timestamp filesystems)."""
    st = path.stat()
    write(path, data)
    os.utime(path, ns=(st.st_atime_ns, max(path.stat().st_mtime_ns, st.st_mtime_ns + 1_000_000)))


def actions(report) -> dict[str, str]:
    return {r.rel: r.action for r in report.results}


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    task, personal = tmp_path / "task", tmp_path / "personal"
    write(task / "kadai-1.txt", "v1\n")
    write(task / "data" / "input.csv", "a,b\n")
    personal.mkdir()
    return task, personal


def sync_in_child(task: Path, personal: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Sync in another process, so a sync that waits forever fails the test instead of hanging it."""
    code = (
        f"import sys; sys.path.insert(0, {str(REPO)!r}); from ipynb_tools.sync import sync_tree; "
        f"r = sync_tree(sys.argv[1], sys.argv[2], now={NOW}); print(r.summary()); sys.exit(0 if r.ok else 1)"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(task), str(personal)], capture_output=True, text=True, timeout=timeout
    )


# -- item 9: the sync record ---------------------------------------------------------------------------------


def test_a_fifo_as_the_sync_record_is_set_aside_and_the_record_rebuilt(dirs):
    task, personal = dirs
    assert sync_tree(task, personal).ok
    later(task / "kadai-1.txt", "v2\n")
    os.unlink(personal / MANIFEST_NAME)
    os.mkfifo(personal / MANIFEST_NAME)
    proc = sync_in_child(task, personal)  # never waits for a writer on the FIFO
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert stat.S_ISFIFO(os.lstat(personal / ASIDE).st_mode)  # kept
    assert stat.S_ISREG(os.lstat(personal / MANIFEST_NAME).st_mode)  # rebuilt
    report = sync_tree(task, personal)
    assert report.ok and not report.changed  # the next start is clean
    later(task / "kadai-1.txt", "v3\n")
    assert actions(sync_tree(task, personal))["kadai-1.txt"] == UPDATED  # the rebuilt record works


@pytest.mark.parametrize("kind", ["symlink", "directory", "symlink-to-fifo"])
def test_other_things_at_the_records_name_are_set_aside_never_followed(dirs, tmp_path, kind):
    task, personal = dirs
    outside = write(tmp_path / "outside.json", '{"files": {}}')
    if kind == "symlink":
        (personal / MANIFEST_NAME).symlink_to(outside)
    elif kind == "directory":
        (personal / MANIFEST_NAME).mkdir()
    else:
        os.mkfifo(tmp_path / "fifo")
        (personal / MANIFEST_NAME).symlink_to(tmp_path / "fifo")
    proc = sync_in_child(task, personal)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert outside.read_text() == '{"files": {}}'  # never written through
    assert os.path.lexists(personal / ASIDE)
    assert stat.S_ISREG(os.lstat(personal / MANIFEST_NAME).st_mode)


def test_a_fifo_where_a_copy_belongs_is_moved_aside_not_waited_on(dirs):
    task, personal = dirs
    os.mkfifo(personal / "kadai-1.txt")
    proc = sync_in_child(task, personal)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (personal / "kadai-1.txt").read_text() == "v1\n"
    assert stat.S_ISFIFO(os.lstat(personal / f"kadai-1.{STAMP}.txt").st_mode)


# -- item 10: a symlinked directory -------------------------------------------------------------------------


@pytest.mark.parametrize("synced_before", [False, True])
def test_a_task_directory_replaced_by_a_symlink_is_never_followed(dirs, tmp_path, synced_before):
    task, personal = dirs
    if synced_before:
        assert sync_tree(task, personal).ok
        for p in (personal / "data").iterdir():
            p.unlink()
        (personal / "data").rmdir()
    other = tmp_path / "students-other-dir"
    write(other / "input.csv", "the student's own file\n")
    leftover = write(other / f".input.csv.123-1{TEMP_SUFFIX}", "looks like a sync temp file\n")
    (personal / "data").symlink_to(other)
    later(task / "data" / "input.csv", "a,b\n1,2\n")
    report = sync_tree(task, personal, now=NOW)
    assert report.ok, report.results
    # nothing read, written or cleaned through the link
    assert (other / "input.csv").read_text() == "the student's own file\n"
    assert leftover.exists()
    assert sorted(p.name for p in other.iterdir()) == sorted(["input.csv", leftover.name])
    # the link is kept aside; the task directory arrives as a real directory
    aside = personal / f"data.{STAMP}"
    assert aside.is_symlink() and os.readlink(aside) == str(other)
    assert (personal / "data").is_dir() and not (personal / "data").is_symlink()
    assert (personal / "data" / "input.csv").read_text() == "a,b\n1,2\n"
    assert actions(report)["data/input.csv"] == MOVED_ASIDE
    assert not sync_tree(task, personal).changed


def test_the_personal_directory_itself_as_a_symlink_is_refused(dirs, tmp_path):
    task, personal = dirs
    link = tmp_path / "link"
    link.symlink_to(personal)
    with pytest.raises(Exception, match="personal directory"):
        sync_tree(task, link)
    assert list(personal.iterdir()) == []


# -- item 11: the record survives interruptions --------------------------------------------------------------


def run_killed(task: Path, personal: Path, where: str) -> None:
    """Sync in a child that dies (``os._exit``) at ``where``: after the first copy is renamed into
    place ("after-rename"), or just before it ("before-rename")."""
    code = f"""
import os, sys
sys.path.insert(0, {str(REPO)!r})
from ipynb_tools.sync import tree
real = tree.rename_into_place
def rename(*a, **k):
    if {where!r} == "before-rename":
        os._exit(9)
    real(*a, **k)
    os._exit(9)
tree.rename_into_place = rename
tree.sync_tree(sys.argv[1], sys.argv[2], workers=1)
"""
    proc = subprocess.run([sys.executable, "-c", code, str(task), str(personal)], timeout=60)
    assert proc.returncode == 9


@pytest.mark.parametrize("where", ["after-rename", "before-rename"])
def test_an_untouched_copy_follows_the_task_after_a_killed_update(dirs, where):
    task, personal = dirs
    (task / "data" / "input.csv").unlink()
    assert sync_tree(task, personal).ok
    later(task / "kadai-1.txt", "v2\n")
    run_killed(task, personal, where)
    assert (personal / "kadai-1.txt").read_text() == ("v2\n" if where == "after-rename" else "v1\n")
    later(task / "kadai-1.txt", "v3\n")  # the teacher's later update
    report = sync_tree(task, personal)
    assert actions(report)["kadai-1.txt"] == UPDATED, report.results
    assert (personal / "kadai-1.txt").read_text() == "v3\n"
    assert not sync_tree(task, personal).changed


def test_a_first_copy_killed_before_its_record_still_follows_the_task(dirs):
    task, personal = dirs
    (task / "data" / "input.csv").unlink()
    run_killed(task, personal, "after-rename")
    assert (personal / "kadai-1.txt").read_text() == "v1\n"
    later(task / "kadai-1.txt", "v2\n")
    report = sync_tree(task, personal, now=NOW)
    assert actions(report)["kadai-1.txt"] == UPDATED, report.results
    assert not any(p.name.startswith("kadai-1.2") for p in personal.iterdir())  # nothing moved aside


def test_a_students_change_after_an_interrupted_sync_is_still_kept(dirs):
    task, personal = dirs
    (task / "data" / "input.csv").unlink()
    assert sync_tree(task, personal).ok
    later(task / "kadai-1.txt", "v2\n")
    run_killed(task, personal, "after-rename")
    later(personal / "kadai-1.txt", "mine\n")
    later(task / "kadai-1.txt", "v3\n")
    report = sync_tree(task, personal)
    assert actions(report)["kadai-1.txt"] == KEPT
    assert (personal / "kadai-1.txt").read_text() == "mine\n"
    assert actions(sync_tree(task, personal)).get("kadai-1.txt", UNCHANGED) in (KEPT, UNCHANGED)


@pytest.mark.parametrize("change", ["appended", "same size"])
def test_a_students_change_to_an_interrupted_first_copy_is_kept_in_place(dirs, change):
    """The first copy arrived but its record is only ``pending`` (killed after the rename): the student's
    change to it is kept at its name, as after a finished sync, never moved aside for the task's version."""
    task, personal = dirs
    (task / "data" / "input.csv").unlink()
    run_killed(task, personal, "after-rename")
    copy = personal / "kadai-1.txt"
    with open(copy, "r+") as f:  # in place, as Jupyter saves
        if change == "appended":
            f.seek(0, os.SEEK_END)
            f.write("my answer\n")
        else:
            f.write("V")
    mine = copy.read_text()
    later(task / "kadai-1.txt", "v2\n")  # the teacher's update meanwhile
    report = sync_tree(task, personal, now=NOW)
    assert actions(report)["kadai-1.txt"] == KEPT, report.results
    assert copy.read_text() == mine
    assert sorted(p.name for p in personal.iterdir() if not p.name.startswith(".")) == ["kadai-1.txt"]
    assert actions(sync_tree(task, personal, now=NOW))["kadai-1.txt"] == KEPT  # and at every later start
    assert copy.read_text() == mine
    # put back as the task's copy was, it follows the task again
    copy.write_text("v1\n")
    report = sync_tree(task, personal, now=NOW)
    assert actions(report)["kadai-1.txt"] == UPDATED and copy.read_text() == "v2\n"


def test_a_students_own_file_where_an_interrupted_first_copy_never_arrived_is_moved_aside(dirs):
    task, personal = dirs
    (task / "data" / "input.csv").unlink()
    run_killed(task, personal, "before-rename")
    write(personal / "kadai-1.txt", "the student's own file\n")
    report = sync_tree(task, personal, now=NOW)
    assert actions(report)["kadai-1.txt"] == MOVED_ASIDE, report.results
    assert (personal / "kadai-1.txt").read_text() == "v1\n"
    aside = [p for p in personal.iterdir() if p.name.startswith("kadai-1.2")]
    assert [p.read_text() for p in aside] == ["the student's own file\n"]


def test_a_huge_sparse_file_as_the_record_is_set_aside_without_reading_it(tmp_path):
    """Item 9's kind: a student's 8 GB sparse file as the record is never read into memory."""
    from ipynb_tools.sync.manifest import MANIFEST_MAX_BYTES

    task, personal = tmp_path / "task", tmp_path / "personal"
    task.mkdir()
    personal.mkdir()
    (task / "q.txt").write_text("q\n")
    assert sync_tree(task, personal).ok
    with open(personal / MANIFEST_NAME, "wb") as f:
        f.truncate(8 << 30)
    assert (personal / MANIFEST_NAME).stat().st_size > MANIFEST_MAX_BYTES
    started = time.monotonic()
    report = sync_tree(task, personal)
    assert report.ok and time.monotonic() - started < 10
    assert (personal / MANIFEST_NAME).stat().st_size < 4096
    kept = [
        p
        for p in personal.iterdir()
        if p.name.startswith(MANIFEST_NAME.rsplit(".", 1)[0] + ".") and p.stat().st_size == 8 << 30
    ]
    assert len(kept) == 1
    assert (personal / "q.txt").read_text() == "q\n"


@pytest.mark.parametrize("name", ["data.csv", "kadai-1.ipynb"])
def test_a_huge_sparse_file_at_a_task_files_name_is_not_hashed(tmp_path, name):
    """Item D: a student's 1 TB sparse copy is kept (changed by the student) without reading it."""
    task, personal = tmp_path / "task", tmp_path / "personal"
    task.mkdir()
    personal.mkdir()
    (task / name).write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n')
    assert sync_tree(task, personal).ok
    with open(personal / name, "r+b") as f:
        f.truncate(1 << 40)
    started = time.monotonic()
    report = sync_tree(task, personal)
    assert time.monotonic() - started < 10
    assert report.ok and [(r.rel, r.action) for r in report.results] == [(name, KEPT)]
    assert (personal / name).stat().st_size == 1 << 40
    (personal / ".ipynb-tools-sync.json").unlink()  # no record: the student's file is moved aside, the task copied
    report = sync_tree(task, personal)
    assert report.ok and [r.action for r in report.results] == [MOVED_ASIDE]
    assert (personal / name).stat().st_size < 4096
    assert sum(p.stat().st_size == 1 << 40 for p in personal.iterdir()) == 1


# -- review of the reworked sync: the record's JSON, permissions, a missing xxhash ----------------------------


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("where", ["files", "entry", "field", "extra"])
def test_a_record_nested_too_deep_never_fails_the_sync(dirs, where):
    """Item 9's kind: "[[[[...]]]]" in the record, nested near or past the JSON parser's depth limit.

    Past the limit the parser raised RecursionError (a traceback at every start, nothing synced);
    just under it the record was read but could not be written back (the same, one level later).
    Depths around the limit are all tried: where exactly it falls depends on the call stack.
    """
    task, personal = dirs
    assert sync_tree(task, personal).ok
    record = personal / MANIFEST_NAME
    good = record.read_text()
    assert good.endswith("}}")
    for depth in [*range(900, 1010, 2), 5000, 200_000]:
        if where == "files":
            text = '{"files":' + deep(depth) + "}"
        elif where == "entry":
            text = good.replace('"kadai-1.txt":{', '"kadai-1.txt":' + deep(depth) + ',"was":{', 1)
        elif where == "field":
            text = good.replace('"kadai-1.txt":{', '"kadai-1.txt":{"kept":' + deep(depth) + ",", 1)
        else:
            text = good[:-2] + ',"elsewhere.txt":' + deep(depth) + "}}"
        record.write_text(text)
        later(task / "kadai-1.txt", f"v{depth}\n")
        report = sync_tree(task, personal, now=NOW)  # raised RecursionError
        assert report.ok, (depth, report.results)
        assert (personal / "kadai-1.txt").read_text() == f"v{depth}\n", depth
        assert sync_tree(task, personal).ok, depth  # and the record written is usable
        for p in personal.iterdir():  # what was set aside, out of the way of the next round
            if p.name.startswith(".ipynb-tools-sync.") and p.name != MANIFEST_NAME:
                p.unlink()
        good = record.read_text()


STUDENT_UID = 47_321  # an unprivileged uid of no account: sync runs as the owner of the personal directory


@pytest.fixture
def owned_dirs():
    """A task and a personal directory owned by STUDENT_UID (in a directory it can reach)."""
    from tests.requirements import require_root

    require_root("a student's chmod only binds a sync that is not root")
    base = Path(tempfile.mkdtemp(prefix="sync-perm-", dir="/tmp"))
    try:
        os.chmod(base, 0o755)
        task, personal = base / "task", base / "personal"
        write(task / "kadai-1.txt", "v1\n")
        write(task / "data" / "input.csv", "a,b\n")
        personal.mkdir()
        for p in [personal, *task.rglob("*"), task]:
            os.chown(p, STUDENT_UID, STUDENT_UID)
        yield task, personal
    finally:
        for p in [base, *base.rglob("*")]:
            if p.is_dir() and not p.is_symlink():
                os.chmod(p, 0o755)
        shutil.rmtree(base)


def sync_as_student(task: Path, personal: Path) -> subprocess.CompletedProcess[str]:
    """``ipynb-tools sync TASK PERSONAL`` as STUDENT_UID (what ``ipynb-tools sync`` in the container is).

    Run in a forked child that drops to the uid, as setup's sync child does (this interpreter may
    live where the uid cannot exec it); its stdout, stderr and exit code are returned.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 70
            try:
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115 - not pytest's capture
                sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
                os.setgroups([])
                os.setgid(STUDENT_UID)
                os.setuid(STUDENT_UID)
                from ipynb_tools.cli.main import main

                try:
                    main(["sync", "--no-flush", str(task), str(personal)])
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:  # noqa: BLE001 - the child must always exit, with what went wrong
                import traceback

                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(
            [], os.waitstatus_to_exitcode(status), out.read().decode(), err.read().decode()
        )


@pytest.mark.root
def test_a_sub_directory_the_student_made_unreadable_fails_its_files_with_one_line_each(owned_dirs):
    task, personal = owned_dirs
    assert sync_as_student(task, personal).returncode == 0
    later(task / "kadai-1.txt", "v2\n")
    os.chmod(personal / "data", 0)
    proc = sync_as_student(task, personal)  # a PermissionError traceback from the temp clean-up
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == ["failed: data/input.csv: data: Permission denied"]
    assert (personal / "kadai-1.txt").read_text() == "v2\n"  # the rest is done
    os.chmod(personal / "data", 0o755)
    assert sync_as_student(task, personal).returncode == 0


@pytest.mark.root
def test_a_personal_directory_the_student_made_unreadable_is_one_line(owned_dirs):
    task, personal = owned_dirs
    os.chmod(personal, 0)
    proc = sync_as_student(task, personal)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert str(personal) in proc.stderr and "Permission denied" in proc.stderr


@pytest.mark.root
def test_a_read_only_personal_directory_places_no_copy_it_cannot_record(owned_dirs):
    """The record cannot be written (the student's chmod 555 on the top): an update in a writable
    sub-directory is not placed (its pending record could not be written first), no temp file is
    left, the other files stay, and after the chmod is undone the update arrives."""
    task, personal = owned_dirs
    assert sync_as_student(task, personal).returncode == 0
    record = (personal / MANIFEST_NAME).read_bytes()
    later(task / "data" / "input.csv", "a,b\n1,2\n")
    os.chmod(personal, 0o555)
    proc = sync_as_student(task, personal)  # a PermissionError traceback from the record's write
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("failed: data/input.csv: cannot record the copy"), lines
    assert (personal / "data" / "input.csv").read_text() == "a,b\n"
    assert not [p for p in personal.rglob("*") if p.name.endswith(TEMP_SUFFIX)]
    assert (personal / MANIFEST_NAME).read_bytes() == record
    os.chmod(personal, 0o755)
    proc = sync_as_student(task, personal)
    assert proc.returncode == 0, proc.stderr
    assert "updated: data/input.csv" in proc.stdout
    assert (personal / "data" / "input.csv").read_text() == "a,b\n1,2\n"


def without_xxhash(monkeypatch: pytest.MonkeyPatch) -> None:
    from ipynb_tools.sync import digest

    monkeypatch.setattr(digest, "_xxhash", None)
    monkeypatch.setattr(digest, "WRITTEN", digest.SHA256)


def test_a_copy_kept_only_for_want_of_xxhash_follows_the_task_once_it_is_back(dirs, monkeypatch):
    """An XXH3 record read without xxhash: the touched (same bytes) copy cannot be checked and is
    kept, but that must not be remembered as "changed by the student" (it was, for good)."""
    task, personal = dirs
    assert sync_tree(task, personal).ok
    later(personal / "kadai-1.txt", "v1\n")  # touched (a restore from a backup), same bytes
    later(task / "kadai-1.txt", "v2\n")
    with monkeypatch.context() as m:
        without_xxhash(m)
        assert actions(sync_tree(task, personal))["kadai-1.txt"] == KEPT
    assert (personal / "kadai-1.txt").read_text() == "v1\n"
    report = sync_tree(task, personal)
    assert actions(report)["kadai-1.txt"] == UPDATED, report.results
    assert (personal / "kadai-1.txt").read_text() == "v2\n"


def test_an_interrupted_copy_met_without_xxhash_still_follows_the_task_later(dirs, monkeypatch):
    task, personal = dirs
    (task / "data" / "input.csv").unlink()
    assert sync_tree(task, personal).ok
    later(task / "kadai-1.txt", "v2\n")
    run_killed(task, personal, "after-rename")  # its pending record: an XXH3 digest
    later(task / "kadai-1.txt", "v3\n")
    with monkeypatch.context() as m:
        without_xxhash(m)
        assert actions(sync_tree(task, personal))["kadai-1.txt"] == KEPT  # cannot tell: never overwritten
    assert (personal / "kadai-1.txt").read_text() == "v2\n"
    report = sync_tree(task, personal)
    assert actions(report)["kadai-1.txt"] == UPDATED, report.results
    assert (personal / "kadai-1.txt").read_text() == "v3\n"


def test_a_sparse_file_over_an_interrupted_copy_is_not_read(dirs):
    """After a kill between the pending record and the final one, the student truncates the copy to
    1 TB: its size is not the pending copy's, so it is kept without being read (it took minutes)."""
    task, personal = dirs
    (task / "data" / "input.csv").unlink()
    assert sync_tree(task, personal).ok
    later(task / "kadai-1.txt", "v2\n")
    run_killed(task, personal, "after-rename")
    with open(personal / "kadai-1.txt", "r+b") as f:
        f.truncate(1 << 40)
    later(task / "kadai-1.txt", "v3\n")
    started = time.monotonic()
    report = sync_tree(task, personal)
    assert time.monotonic() - started < 10
    assert actions(report)["kadai-1.txt"] == KEPT
    assert (personal / "kadai-1.txt").stat().st_size == 1 << 40


@pytest.mark.parametrize("save", ["in-place", "by-rename"])
def test_a_save_between_placing_a_copy_and_recording_it_is_never_taken_for_sync_s_copy(dirs, monkeypatch, save):
    """The student's editor saves the very moment sync renames its copy into place, before sync
    stats it: the record must not call that version untouched, or the teacher's next update
    would overwrite the student's work. (A same-size write with the mtime put back inside that
    microsecond window is not told apart: only the student can do it, to their own copy.)"""
    from ipynb_tools.sync import tree

    task, personal = dirs
    assert sync_tree(task, personal).ok
    later(task / "kadai-1.txt", "v2\n")
    real = tree.rename_into_place

    def rename_then_student_saves(temp, target, *, dir_fd=None):
        real(temp, target, dir_fd=dir_fd)
        if target == "kadai-1.txt":
            name = target if save == "in-place" else ".kadai-1.txt.editor"
            fd = os.open(name, os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o644, dir_fd=dir_fd)
            os.write(fd, b"MY\n")  # the student's work, same size as "v2\n"
            os.close(fd)
            if save == "by-rename":
                os.rename(name, target, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)

    monkeypatch.setattr(tree, "rename_into_place", rename_then_student_saves)
    sync_tree(task, personal)
    monkeypatch.setattr(tree, "rename_into_place", real)
    later(task / "kadai-1.txt", "v3\n")
    report = sync_tree(task, personal)
    assert (personal / "kadai-1.txt").read_text() == "MY\n", report.results
    assert actions(report)["kadai-1.txt"] == KEPT


# -- item 9's kind: a valid record full of junk ----------------------------------------------------------------


def test_a_huge_valid_junk_record_is_set_aside_in_bounded_time_and_memory(dirs):
    """A student's valid 30 MB record of 2.5 million entries (79 s and 506 MB at every start) is over
    what a two-file task's record can take: it is set aside unparsed, kept, and the record rebuilt."""
    from ipynb_tools.sync.manifest import record_limit

    task, personal = dirs
    assert sync_tree(task, personal).ok
    later(personal / "kadai-1.txt", "mine\n")  # a changed copy: rebuilt without its history, it is kept aside
    good = (personal / MANIFEST_NAME).read_text()
    junk = ",".join(f'"j{i:07}":0' for i in range(2_500_000))
    (personal / MANIFEST_NAME).write_text(good.replace('"files":{', '"files":{' + junk + ",", 1))
    size = (personal / MANIFEST_NAME).stat().st_size
    assert size > 30_000_000 > record_limit(2)
    code = (
        f"import sys, time; sys.path.insert(0, {str(REPO)!r}); from ipynb_tools.sync import sync_tree; "
        f"t = time.monotonic(); r = sync_tree(sys.argv[1], sys.argv[2], now={NOW}); "
        # VmHWM: this process's peak resident memory since its exec (ru_maxrss carries the parent's over)
        "hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]; "
        "print(time.monotonic() - t, hwm); "
        "print('\\n'.join(f'{x.action}: {x.rel} ({x.detail})' for x in r.changed)); sys.exit(0 if r.ok else 1)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(task), str(personal)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    seconds, maxrss_kb = done.stdout.split("\n", 1)[0].split()
    assert float(seconds) < 5  # was 79 s
    assert int(maxrss_kb) < 120 << 10  # KB: the interpreter and the sync, never the record parsed (was 506 MB)
    assert f"moved-aside: {MANIFEST_NAME} (" in done.stdout and f"over the {record_limit(2)}" in done.stdout
    assert (personal / ASIDE).stat().st_size == size  # kept as it was
    rebuilt = json.loads((personal / MANIFEST_NAME).read_text())["files"]
    assert set(rebuilt) == {"kadai-1.txt", "data/input.csv"}
    # nothing lost: the changed copy was moved aside (no history to tell it by), the task's copy placed
    assert (personal / f"kadai-1.{STAMP}.txt").read_text() == "mine\n"
    assert (personal / "kadai-1.txt").read_text() == "v1\n"


def test_record_entries_naming_no_task_file_are_pruned_with_a_notice(dirs):
    """Junk under the limit is dropped as read, once, with a line; the task files' history stays."""
    task, personal = dirs
    assert sync_tree(task, personal).ok
    later(personal / "kadai-1.txt", "mine\n")
    path = personal / MANIFEST_NAME
    record = json.loads(path.read_text())
    entry = record["files"]["kadai-1.txt"]
    record["files"].update({f"gone/{i}.txt": entry for i in range(500)})
    path.write_text(json.dumps(record))
    later(task / "kadai-1.txt", "v2\n")
    report = sync_tree(task, personal)
    assert report.ok
    pruned = [r for r in report.results if r.action == PRUNED]
    assert [(r.rel, r.detail) for r in pruned] == [(MANIFEST_NAME, "500 record entries naming no task file dropped")]
    assert "pruned 1" in report.summary()
    assert actions(report)["kadai-1.txt"] == KEPT  # its entry was kept: still known as the student's change
    assert (personal / "kadai-1.txt").read_text() == "mine\n"
    assert set(json.loads(path.read_text())["files"]) == {"kadai-1.txt", "data/input.csv"}
    before = path.stat()
    again = sync_tree(task, personal)
    assert PRUNED not in actions(again).values()
    assert path.stat().st_ino == before.st_ino  # nothing left to prune: the record is not rewritten


def test_the_entry_of_a_file_the_teacher_removed_is_dropped_and_the_copy_stays(dirs):
    task, personal = dirs
    assert sync_tree(task, personal).ok
    (task / "kadai-1.txt").unlink()
    report = sync_tree(task, personal)
    assert actions(report)[MANIFEST_NAME] == PRUNED
    assert (personal / "kadai-1.txt").read_text() == "v1\n"  # never deleted
    assert set(json.loads((personal / MANIFEST_NAME).read_text())["files"]) == {"data/input.csv"}


def test_a_record_grown_between_its_size_check_and_its_read_is_read_no_further(dirs):
    """The student's loop `truncate -s 4G` on the record wins the race between sync's fstat and its
    read: the read stops past the task's limit (it read all 4 GB into memory), the record is set
    aside (kept) and rebuilt. The child's address space is capped at 1 GB, so reading it whole fails."""
    task, personal = dirs
    assert sync_tree(task, personal).ok
    record = personal / MANIFEST_NAME
    code = f"""
import os, resource, sys
sys.path.insert(0, {str(REPO)!r})
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from ipynb_tools.sync import manifest, sync_tree
real = manifest.open_regular
def open_then_grow(*a, **k):
    opened = real(*a, **k)
    os.truncate({str(record)!r}, 4 << 30)  # the student's truncate, just after sync's fstat
    return opened
manifest.open_regular = open_then_grow
r = sync_tree(sys.argv[1], sys.argv[2], now={NOW})
print("\\n".join(f"{{x.action}}: {{x.rel}} ({{x.detail}})" for x in r.changed)); sys.exit(0 if r.ok else 1)
"""
    done = subprocess.run(
        [sys.executable, "-c", code, str(task), str(personal)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"moved-aside: {MANIFEST_NAME} (" in done.stdout and "grew over the" in done.stdout, done.stdout
    assert (personal / ASIDE).stat().st_size == 4 << 30  # kept as it was
    assert set(json.loads(record.read_text())["files"]) == {"kadai-1.txt", "data/input.csv"}
    assert (personal / "kadai-1.txt").read_text() == "v1\n"


@pytest.mark.parametrize("save", ["update-in-place", "update-by-rename", "new-file"])
def test_a_students_save_while_the_copies_are_made_is_never_replaced(dirs, monkeypatch, save):
    """The student's process saves the file after sync decided (an untouched copy to update, or
    nothing there to copy over) and before the copy is renamed into place (a batch's copies can take
    seconds): the save is kept, never replaced, and the next syncs keep it or set it aside."""
    from ipynb_tools.sync import tree

    task, personal = dirs
    (task / "data" / "input.csv").unlink()
    if save != "new-file":
        assert sync_tree(task, personal).ok
        later(task / "kadai-1.txt", "v2\n")
    real = tree._Syncer.place

    def student_saves_then_place(self, staged, manifest):
        if save == "update-by-rename":
            write(personal / ".kadai-1.txt.editor", "MINE\n").rename(personal / "kadai-1.txt")
        else:
            write(personal / "kadai-1.txt", "MINE\n")
        return real(self, staged, manifest)

    monkeypatch.setattr(tree._Syncer, "place", student_saves_then_place)
    report = sync_tree(task, personal, now=NOW)
    monkeypatch.setattr(tree._Syncer, "place", real)
    assert actions(report)["kadai-1.txt"] == KEPT, report.results
    assert (personal / "kadai-1.txt").read_text() == "MINE\n"
    assert not [p for p in personal.iterdir() if p.name.endswith(TEMP_SUFFIX)]
    later(task / "kadai-1.txt", "v3\n")
    report = sync_tree(task, personal, now=NOW + 1)
    if save == "new-file":  # no history: set aside (kept) and the task file copied
        assert actions(report)["kadai-1.txt"] == MOVED_ASIDE, report.results
        assert (personal / "kadai-1.txt").read_text() == "v3\n"
        assert [p.read_text() for p in personal.glob("kadai-1.2*.txt")] == ["MINE\n"]
    else:
        assert actions(report)["kadai-1.txt"] == KEPT, report.results
        assert (personal / "kadai-1.txt").read_text() == "MINE\n"


def test_moving_aside_never_replaces_what_the_student_makes_at_the_free_name(dirs, monkeypatch):
    """The student's file appears at the name sync picked to set their FIFO aside, just before the
    rename (a check then a rename replaced it): both are kept, the FIFO under the next free name."""
    from ipynb_tools.sync import tree

    task, personal = dirs
    os.mkfifo(personal / "kadai-1.txt")
    real = tree.rename_no_replace

    def student_makes_it_first(src, dst, dir_fd):
        if dst == f"kadai-1.{STAMP}.txt":
            write(personal / dst, "made at that instant\n")
        real(src, dst, dir_fd)

    monkeypatch.setattr(tree, "rename_no_replace", student_makes_it_first)
    report = sync_tree(task, personal, now=NOW)
    assert actions(report)["kadai-1.txt"] == MOVED_ASIDE, report.results
    assert (personal / f"kadai-1.{STAMP}.txt").read_text() == "made at that instant\n"
    assert stat.S_ISFIFO((personal / f"kadai-1.{STAMP}-1.txt").lstat().st_mode)
    assert (personal / "kadai-1.txt").read_text() == "v1\n"


def test_a_copy_grown_to_a_terabyte_after_its_size_check_is_not_hashed(dirs):
    """The student touches their copy (so sync must look at its content) and their loop's
    `truncate -s 1T` lands just after sync's size check: sync reads no further than the size it
    checked (it hashed the terabyte: minutes at every start), and keeps the copy as the student's."""
    task, personal = dirs
    assert sync_tree(task, personal).ok
    copy = personal / "kadai-1.txt"
    os.utime(copy, ns=(0, copy.stat().st_mtime_ns + 5_000_000_000))  # touched: its content is looked at
    code = f"""
import os, sys, time
sys.path.insert(0, {str(REPO)!r})
from ipynb_tools.sync import sync_tree, tree
real = tree.open_regular
def open_then_grow(name, *, dir_fd=None):
    opened = real(name, dir_fd=dir_fd)
    if name == "kadai-1.txt" and dir_fd is not None:
        os.truncate({str(copy)!r}, 1 << 40)  # the student's truncate, just after sync's size check
    return opened
tree.open_regular = open_then_grow
t = time.monotonic()
r = sync_tree(sys.argv[1], sys.argv[2], now={NOW})
print(time.monotonic() - t)
print("\\n".join(f"{{x.action}}: {{x.rel}} ({{x.detail}})" for x in r.results)); sys.exit(0 if r.ok else 1)
"""
    done = subprocess.run(
        [sys.executable, "-c", code, str(task), str(personal)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert float(done.stdout.split("\n", 1)[0]) < 5, done.stdout
    assert f"{KEPT}: kadai-1.txt (" in done.stdout, done.stdout
    assert copy.stat().st_size == 1 << 40  # the student's, as they left it
    later(task / "kadai-1.txt", "v2\n")
    assert actions(sync_tree(task, personal))["kadai-1.txt"] == KEPT
