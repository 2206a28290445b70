"""What a student leaves in their personal directory never wedges or steers sync (issue 12, items 9-11).

Item 9: a FIFO, a link or a directory where the sync record (manifest) belongs is set aside
(kept) and the record rebuilt; the sync never waits on it. Item 10: a task sub-directory the
student replaced by a symlink is never read, written or cleaned through. Item 11: a sync killed
between placing a copy and saving its record still knows the copy is the task's.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ipynb_tools.fileops import TEMP_SUFFIX
from ipynb_tools.sync import KEPT, MANIFEST_NAME, MOVED_ASIDE, UNCHANGED, UPDATED, sync_tree

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
