"""Task-to-personal sync: every rule of SPEC 3.3 "We add", the manifest, speed shortcuts, interruption."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xxhash

from ipynb_tools import fileops
from ipynb_tools.atomic import TEMP_SUFFIX
from ipynb_tools.notebook import notebook_bytes, read_notebook
from ipynb_tools.numbering import number_cells
from ipynb_tools.sync import (
    ADOPTED,
    COPIED,
    KEPT,
    MANIFEST_NAME,
    MOVED_ASIDE,
    SKIPPED,
    UNCHANGED,
    UPDATED,
    SyncError,
    sync_tree,
)
from ipynb_tools.sync import tree as sync_mod
from ipynb_tools.sync import workers as workers_mod
from ipynb_tools.sync.digest import CHUNK
from ipynb_tools.tags import cell_codenum, cell_filename

from ..requirements import require_root


def xxh128(data: bytes) -> str:
    """The digest the record stores (ipynb_tools/sync/digest.py), computed independently."""
    return "xxh128:" + xxhash.xxh3_128_hexdigest(data)


NOW = time.mktime((2026, 4, 1, 10, 20, 30, 0, 0, -1))
STAMP = "20260401-102030"
REPO = Path(__file__).resolve().parents[2]


def notebook(*sources: str, deployed_as: str | None = None, step: int = 1) -> bytes:
    nb = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "# 課題"},
            *(
                {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": s}
                for s in sources
            ),
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    if deployed_as:
        number_cells(nb, deployed_as, step)
    return notebook_bytes(nb)


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def later(path: Path, data: bytes | str) -> None:
    """Rewrite a file so its mtime surely moves (coarse-timestamp filesystems)."""
    st = path.stat()
    write(path, data)
    os.utime(path, ns=(st.st_atime_ns, max(path.stat().st_mtime_ns, st.st_mtime_ns + 1_000_000)))


def actions(report) -> dict[str, str]:
    return {r.rel: r.action for r in report.results}


def listing(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    task = tmp_path / "lms_vol_py_98_lms.example.org"
    personal = tmp_path / "lms_prs_py_98_lms.example.org"
    task.mkdir()
    personal.mkdir()
    write(task / "kadai-1.ipynb", notebook("print(1)", "x = 2", deployed_as="kadai-1.ipynb", step=10))
    write(task / "data" / "input.csv", "a,b\n1,2\n")
    write(task / "日本語 の ファイル.txt", "こんにちは\n")
    write(task / ".hidden", "secret\n")
    write(task / ".ipynb_checkpoints" / "kadai-1-checkpoint.ipynb", notebook("old"))
    write(task / "data" / ".ipynb_checkpoints" / "x", "x")
    return task, personal


def test_first_sync_copies_visible_files_and_keeps_a_hidden_manifest(dirs):
    task, personal = dirs
    report = sync_tree(task, personal, now=NOW)
    assert report.ok
    assert actions(report) == {"kadai-1.ipynb": COPIED, "data/input.csv": COPIED, "日本語 の ファイル.txt": COPIED}
    assert (personal / "kadai-1.ipynb").read_bytes() == (task / "kadai-1.ipynb").read_bytes()
    assert (personal / "日本語 の ファイル.txt").read_text() == "こんにちは\n"
    assert not (personal / ".hidden").exists()
    assert not (personal / ".ipynb_checkpoints").exists()
    assert not (personal / "data" / ".ipynb_checkpoints").exists()
    manifest = json.loads((personal / MANIFEST_NAME).read_text())
    assert set(manifest["files"]) == {"kadai-1.ipynb", "data/input.csv", "日本語 の ファイル.txt"}
    entry = manifest["files"]["data/input.csv"]
    assert entry["src"][0] == len("a,b\n1,2\n")
    assert entry["src_sha"] == entry["dst_sha"] == xxh128(b"a,b\n1,2\n")
    # cp -a like: the teacher's modification time is kept
    assert (personal / "data/input.csv").stat().st_mtime_ns == (task / "data/input.csv").stat().st_mtime_ns
    assert not [p for p in personal.rglob("*") if p.name.endswith(TEMP_SUFFIX)]


def test_a_task_file_whose_name_is_not_utf8_is_copied_and_recorded(dirs):
    """A teacher's file from an old archive, named in bytes that are not UTF-8 (``x\\xfe.ipynb``).

    It reached Python as ``x\\udcfe.ipynb`` (PEP 383) and the record could not be written: nothing
    was copied (temp files left) and setup's sync step failed at every start. Now it is copied as it
    is (no tag can name it: ``notebook.is_utf8_name``), recorded, and unchanged the next time.
    """
    task, personal = dirs
    name = os.fsdecode(b"x\xfe.ipynb")
    raw = notebook("print(1)", deployed_as="kadai-1.ipynb")
    write(task / name, raw)
    report = sync_tree(task, personal, now=NOW)
    assert report.ok and actions(report)[name] == COPIED
    assert (personal / name).read_bytes() == raw
    assert (personal / "kadai-1.ipynb").is_file()
    assert not [p for p in personal.rglob("*") if p.name.endswith(TEMP_SUFFIX)]
    assert name in json.loads((personal / MANIFEST_NAME).read_bytes())["files"]
    again = sync_tree(task, personal, now=NOW)
    assert set(actions(again).values()) == {UNCHANGED}


def test_resync_with_nothing_changed_reads_no_file_and_rewrites_no_manifest(dirs, monkeypatch):
    task, personal = dirs
    sync_tree(task, personal)
    manifest_stat = (personal / MANIFEST_NAME).stat()
    calls = []
    monkeypatch.setattr(sync_mod, "digest_file", lambda *a: calls.append(a))
    monkeypatch.setattr(sync_mod, "render", lambda *a: calls.append(a))
    report = sync_tree(task, personal)
    assert set(actions(report).values()) == {UNCHANGED}
    assert calls == []
    assert (personal / MANIFEST_NAME).stat().st_mtime_ns == manifest_stat.st_mtime_ns
    assert (personal / MANIFEST_NAME).stat().st_ino == manifest_stat.st_ino


def test_teacher_update_reaches_a_copy_the_student_did_not_touch(dirs):
    task, personal = dirs
    sync_tree(task, personal)
    later(task / "data" / "input.csv", "a,b\n1,2\n3,4\n")
    report = sync_tree(task, personal)
    assert actions(report)["data/input.csv"] == UPDATED
    assert (personal / "data" / "input.csv").read_text() == "a,b\n1,2\n3,4\n"
    assert sync_tree(task, personal).changed == []


def test_a_touched_task_file_with_the_same_content_is_not_copied_again(dirs):
    task, personal = dirs
    sync_tree(task, personal)
    before = (personal / "data" / "input.csv").stat().st_ino
    later(task / "data" / "input.csv", "a,b\n1,2\n")
    report = sync_tree(task, personal)
    assert actions(report)["data/input.csv"] == UNCHANGED
    assert (personal / "data" / "input.csv").stat().st_ino == before


def test_student_changes_are_never_overwritten_even_when_the_teacher_edits_the_same_file(dirs):
    task, personal = dirs
    sync_tree(task, personal)
    later(personal / "data" / "input.csv", "student's answer\n")
    report = sync_tree(task, personal)
    assert actions(report)["data/input.csv"] == KEPT
    later(task / "data" / "input.csv", "teacher's fix\n")
    for _ in range(2):
        report = sync_tree(task, personal)
        assert actions(report)["data/input.csv"] == KEPT
        assert (personal / "data" / "input.csv").read_text() == "student's answer\n"
    assert sorted(p.name for p in (personal / "data").iterdir()) == ["input.csv"]


def test_teacher_edit_then_student_edit_then_teacher_edit(dirs):
    task, personal = dirs
    sync_tree(task, personal)
    later(task / "kadai-1.ipynb", notebook("print(2)", deployed_as="kadai-1.ipynb"))
    assert actions(sync_tree(task, personal))["kadai-1.ipynb"] == UPDATED
    assert "print(2)" in (personal / "kadai-1.ipynb").read_text()
    mine = notebook("print('mine')", deployed_as="kadai-1.ipynb")
    later(personal / "kadai-1.ipynb", mine)
    later(task / "kadai-1.ipynb", notebook("print(3)", deployed_as="kadai-1.ipynb"))
    assert actions(sync_tree(task, personal))["kadai-1.ipynb"] == KEPT
    assert (personal / "kadai-1.ipynb").read_bytes() == mine


def test_a_student_who_saves_the_same_bytes_is_still_unchanged(dirs):
    task, personal = dirs
    sync_tree(task, personal)
    data = (personal / "kadai-1.ipynb").read_bytes()
    later(personal / "kadai-1.ipynb", data)  # Jupyter saved without a change
    later(task / "kadai-1.ipynb", notebook("print('v2')", deployed_as="kadai-1.ipynb"))
    assert actions(sync_tree(task, personal))["kadai-1.ipynb"] == UPDATED
    assert "v2" in (personal / "kadai-1.ipynb").read_text()


def test_a_deleted_file_comes_back(dirs):
    task, personal = dirs
    sync_tree(task, personal)
    (personal / "kadai-1.ipynb").unlink()
    os.remove(personal / "data" / "input.csv")
    (personal / "data").rmdir()
    report = sync_tree(task, personal)
    assert actions(report)["kadai-1.ipynb"] == COPIED
    assert actions(report)["data/input.csv"] == COPIED
    assert (personal / "kadai-1.ipynb").read_bytes() == (task / "kadai-1.ipynb").read_bytes()


def test_a_students_own_file_in_the_way_of_a_new_task_file_is_renamed_aside(dirs):
    task, personal = dirs
    sync_tree(task, personal)
    write(personal / "kadai-2.ipynb", "my own notes")
    write(task / "kadai-2.ipynb", notebook("print(22)", deployed_as="kadai-2.ipynb"))
    report = sync_tree(task, personal, now=NOW)
    assert actions(report)["kadai-2.ipynb"] == MOVED_ASIDE
    assert (personal / f"kadai-2.{STAMP}.ipynb").read_text() == "my own notes"
    assert (personal / "kadai-2.ipynb").read_bytes() == (task / "kadai-2.ipynb").read_bytes()
    # the aside copy is the student's, never touched again
    assert sync_tree(task, personal, now=NOW).changed == []


def test_directories_and_links_in_the_way_are_moved_not_followed(dirs, tmp_path):
    task, personal = dirs
    outside = tmp_path / "outside"
    outside.mkdir()
    (personal / "data").symlink_to(outside)  # a link where the task has a directory
    write(personal / "日本語 の ファイル.txt" / "inner.txt", "a directory where a file belongs")
    report = sync_tree(task, personal, now=NOW)
    assert report.ok
    assert actions(report)["data/input.csv"] == MOVED_ASIDE
    assert actions(report)["日本語 の ファイル.txt"] == MOVED_ASIDE
    assert list(outside.iterdir()) == []
    assert (personal / f"data.{STAMP}").is_symlink()
    assert (personal / "data").is_dir() and not (personal / "data").is_symlink()
    assert (personal / f"日本語 の ファイル.{STAMP}.txt" / "inner.txt").read_text().startswith("a directory")
    # a second collision the same second gets its own name
    (personal / "kadai-1.ipynb").unlink()
    (personal / "kadai-1.ipynb").mkdir()
    write(personal / f"kadai-1.{STAMP}.ipynb", "taken")
    sync_tree(task, personal, now=NOW)
    assert (personal / f"kadai-1.{STAMP}-1.ipynb").is_dir()


def test_files_equal_to_the_task_file_are_adopted_not_moved(dirs):
    """Copies made by the old ``cp --no-clobber`` (no manifest) are recognised."""
    task, personal = dirs
    write(personal / "data" / "input.csv", (task / "data" / "input.csv").read_bytes())
    report = sync_tree(task, personal, now=NOW)
    assert actions(report)["data/input.csv"] == ADOPTED
    assert sorted(p.name for p in (personal / "data").iterdir()) == ["input.csv"]
    later(task / "data" / "input.csv", "new\n")
    assert actions(sync_tree(task, personal))["data/input.csv"] == UPDATED


def test_a_file_the_teacher_removed_stays_with_the_student(dirs):
    task, personal = dirs
    sync_tree(task, personal)
    (task / "data" / "input.csv").unlink()
    report = sync_tree(task, personal)
    assert "data/input.csv" not in actions(report)
    assert (personal / "data" / "input.csv").read_text() == "a,b\n1,2\n"


def test_notebooks_arrive_with_filename_tags_that_name_them(dirs):
    task, personal = dirs
    # deployed as another name, then renamed by the teacher: numbers kept, filename corrected
    write(task / "week2.ipynb", notebook("a = 1", "b = 2", deployed_as="draft.ipynb", step=10))
    # never deployed: numbered 1, 2
    write(task / "raw.ipynb", notebook("c = 3", "d = 4"))
    # not a notebook at all: copied as it is
    write(task / "broken.ipynb", "{not json")
    report = sync_tree(task, personal)
    assert report.ok
    week2 = read_notebook(personal / "week2.ipynb")
    codes = [c for c in week2["cells"] if c["cell_type"] == "code"]
    assert [(cell_filename(c), cell_codenum(c)) for c in codes] == [("week2.ipynb", 10), ("week2.ipynb", 20)]
    assert codes[0]["metadata"]["tags"] == ["filename:week2.ipynb", "codenum:10"]
    raw = read_notebook(personal / "raw.ipynb")
    assert [(cell_filename(c), cell_codenum(c)) for c in raw["cells"] if c["cell_type"] == "code"] == [
        ("raw.ipynb", 1),
        ("raw.ipynb", 2),
    ]
    assert (personal / "broken.ipynb").read_text() == "{not json"
    assert (personal / "kadai-1.ipynb").read_bytes() == (task / "kadai-1.ipynb").read_bytes()
    # a corrected notebook is still "unchanged by the student" on the next run
    assert sync_tree(task, personal).changed == []
    later(task / "week2.ipynb", notebook("a = 100", deployed_as="draft.ipynb"))
    assert actions(sync_tree(task, personal))["week2.ipynb"] == UPDATED
    assert "filename:week2.ipynb" in (personal / "week2.ipynb").read_text()


def test_symlinks_in_the_task_volume_are_not_copied(dirs, tmp_path):
    task, personal = dirs
    write(tmp_path / "secret", "s")
    (task / "link").symlink_to(tmp_path / "secret")
    report = sync_tree(task, personal)
    assert actions(report)["link"] == SKIPPED
    assert not os.path.lexists(personal / "link")


def test_a_broken_manifest_loses_nothing(dirs):
    task, personal = dirs
    sync_tree(task, personal)
    later(personal / "data" / "input.csv", "mine\n")
    (personal / MANIFEST_NAME).write_text("{garbage")
    report = sync_tree(task, personal, now=NOW)
    assert report.ok  # rebuilt, not failing every start (issue 12, item 9)
    assert actions(report)[MANIFEST_NAME] == MOVED_ASIDE  # the problem is reported, the old record kept
    assert (personal / MANIFEST_NAME.replace(".json", f".{STAMP}.json")).read_text() == "{garbage"
    assert (personal / f"data/input.{STAMP}.csv").read_text() == "mine\n"
    assert actions(report)["kadai-1.ipynb"] == ADOPTED
    assert sync_tree(task, personal, now=NOW).ok


@pytest.mark.parametrize("junk", [b'{"files":{"\xff\xfe":{}}}', b"\xef\xbb\xbf{}", b'{"files":[]}', b"\x00" * 64])
def test_a_record_that_is_not_utf_8_json_of_files_is_set_aside_and_rebuilt(dirs, junk):
    """Invalid UTF-8, a byte-order mark, files not an object, NULs: one set-aside line, then a sync that works."""
    task, personal = dirs
    assert sync_tree(task, personal).ok
    (personal / MANIFEST_NAME).write_bytes(junk)
    report = sync_tree(task, personal, now=NOW)
    assert report.ok and actions(report)[MANIFEST_NAME] == MOVED_ASIDE
    assert (personal / MANIFEST_NAME.replace(".json", f".{STAMP}.json")).read_bytes() == junk
    assert actions(report)["kadai-1.ipynb"] == ADOPTED  # the copies are recognised by content
    assert all(a == UNCHANGED for a in actions(sync_tree(task, personal)).values())


def test_missing_directories_are_refused(tmp_path):
    with pytest.raises(SyncError, match="task directory does not exist"):
        sync_tree(tmp_path / "nope", tmp_path)
    with pytest.raises(SyncError, match="personal directory does not exist"):
        sync_tree(tmp_path, tmp_path / "nope")


def test_modes_follow_the_umask_and_keep_the_exec_bit(dirs):
    task, personal = dirs
    write(task / "run.sh", "#!/bin/sh\n")
    os.chmod(task / "run.sh", 0o775)
    os.chmod(task / "data" / "input.csv", 0o444)
    old = os.umask(0o037)
    try:
        sync_tree(task, personal)
    finally:
        os.umask(old)
    assert (personal / "run.sh").stat().st_mode & 0o777 == 0o740
    assert (personal / "data" / "input.csv").stat().st_mode & 0o777 == 0o640  # student can edit


# -- interruption ---------------------------------------------------------------------------------------


def _big_task(task: Path, files: int = 60) -> None:
    for i in range(files):
        write(task / f"d{i % 5}" / f"f{i:03}.bin", os.urandom(64 * 1024 + i))


def _check_whole(task: Path, personal: Path) -> None:
    """Every visible file in ``personal`` is a complete copy of its task file."""
    for path in personal.rglob("*"):
        if path.is_file() and not path.name.startswith(".") and (task / path.relative_to(personal)).exists():
            assert path.read_bytes() == (task / path.relative_to(personal)).read_bytes(), path


@pytest.mark.parametrize("fail_at", [0, 1, 7, 30, 59])
def test_an_injected_failure_leaves_whole_files_and_the_next_sync_completes(tmp_path, monkeypatch, fail_at):
    task, personal = tmp_path / "task", tmp_path / "personal"
    personal.mkdir()
    _big_task(task)
    real_replace = os.replace
    count = {"n": 0}

    def failing_replace(src, dst, *a, real=real_replace, **k):
        if str(src).endswith(TEMP_SUFFIX) and MANIFEST_NAME not in str(dst):
            count["n"] += 1
            if count["n"] > fail_at:
                raise OSError(28, "No space left on device", str(dst))
        return real(src, dst, *a, **k)

    real_no_replace = fileops.rename_no_replace

    def failing_no_replace(temp, target, dir_fd):  # a first copy's placement (nothing at the name)
        failing_replace(temp, target, real=lambda *a, **k: real_no_replace(temp, target, dir_fd))

    monkeypatch.setattr(sync_mod.os, "replace", failing_replace)
    monkeypatch.setattr(fileops, "rename_no_replace", failing_no_replace)
    report = sync_tree(task, personal, workers=1)
    assert not report.ok
    _check_whole(task, personal)
    assert not list(personal.rglob("*" + TEMP_SUFFIX))
    monkeypatch.setattr(sync_mod.os, "replace", real_replace)
    monkeypatch.setattr(fileops, "rename_no_replace", real_no_replace)
    report = sync_tree(task, personal)
    assert report.ok
    assert listing(task) == {k: v for k, v in listing(personal).items() if not k.startswith(".")}
    assert sync_tree(task, personal).changed == []


def test_a_killed_sync_never_leaves_a_partial_file_and_the_next_one_completes(tmp_path):
    task, personal = tmp_path / "task", tmp_path / "personal"
    personal.mkdir()
    for i in range(80):
        write(task / f"f{i:02}.bin", os.urandom(1024 * 1024))
    code = (
        f"import sys; sys.path.insert(0, {str(REPO)!r}); from ipynb_tools.sync import sync_tree, tree; "
        "tree.PLACE_BATCH_BYTES = 4 << 20; "  # small runs, so kills land between placements too
        "from ipynb_tools.sync import workers; workers.SPLIT_MIN_FILES = 2; "  # each run copied by 2 processes
        "sync_tree(sys.argv[1], sys.argv[2], workers=2, durable=False)"
    )

    def placed() -> int:
        return sum(1 for p in personal.iterdir() if p.suffix == ".bin")

    # Each run is killed when the copies placed reach the next count (polled, so the kills land
    # mid-run however loaded the machine is); the first, 50 ms in, before anything is placed.
    killed_midway = 0
    for kill_at in [None, 4, 8, 16, 24, 36, 48, 60, 72]:
        proc = subprocess.Popen([sys.executable, "-c", code, str(task), str(personal)])
        if kill_at is None:
            time.sleep(0.05)
        else:
            deadline = time.monotonic() + 120
            while proc.poll() is None and placed() < kill_at and time.monotonic() < deadline:
                time.sleep(0.002)
        running = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed_midway += running and 0 < placed() < 80
        _check_whole(task, personal)  # never a partial file under a task file's name
        # a student's own file made between runs: it must survive
        if placed() and not (personal / "mine.txt").exists():
            write(personal / "mine.txt", "student file")
    report = sync_tree(task, personal)
    assert report.ok
    _check_whole(task, personal)
    assert len([p for p in personal.iterdir() if p.suffix == ".bin"]) == 80
    assert not [p for p in personal.iterdir() if p.name.endswith(TEMP_SUFFIX)]
    assert (personal / "mine.txt").read_text() == "student file"
    assert killed_midway >= 3, f"only {killed_midway} kills landed in the middle of a sync; make the task larger"


def test_an_update_interrupted_before_the_manifest_is_written_is_recognised(dirs):
    """Killed after replacing a copy but before saving the manifest: the new copy is adopted, not 'kept'."""
    task, personal = dirs
    sync_tree(task, personal)
    old_manifest = (personal / MANIFEST_NAME).read_bytes()
    later(task / "data" / "input.csv", "v2\n")
    sync_tree(task, personal)
    (personal / MANIFEST_NAME).write_bytes(old_manifest)  # as if the manifest write never happened
    assert actions(sync_tree(task, personal))["data/input.csv"] == ADOPTED
    later(task / "data" / "input.csv", "v3\n")
    assert actions(sync_tree(task, personal))["data/input.csv"] == UPDATED
    assert (personal / "data" / "input.csv").read_text() == "v3\n"


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7])
def test_the_record_holds_the_digest_of_the_bytes_written(dirs, size):
    """Copied and digested in one pass, in CHUNK pieces: right at and around the piece boundaries."""
    task, personal = dirs
    data = os.urandom(size)
    (task / "blob.bin").write_bytes(data)
    assert sync_tree(task, personal, now=NOW).ok
    assert (personal / "blob.bin").read_bytes() == data
    files = json.loads((personal / MANIFEST_NAME).read_text())["files"]
    for rel, entry in files.items():
        assert entry["dst_sha"] == xxh128((personal / rel).read_bytes()), rel
        assert entry["src_sha"] == xxh128((task / rel).read_bytes()), rel
    again = sync_tree(task, personal, now=NOW)
    assert not again.changed


def as_version_1(personal: Path) -> None:
    """Rewrite the record as a version-1 sync wrote it: SHA-256 digests (bare hex), no ``kept``."""
    path = personal / MANIFEST_NAME
    record = json.loads(path.read_text())
    for rel, entry in record["files"].items():
        copy = (personal / rel).read_bytes()
        assert entry["dst_sha"] == xxh128(copy)
        entry["dst_sha"] = hashlib.sha256(copy).hexdigest()
        entry["src_sha"] = entry["dst_sha"] if entry["src_sha"] == xxh128(copy) else "0" * 64
    record["version"] = 1
    path.write_text(json.dumps(record))


def test_a_version_1_record_keeps_every_copys_history(dirs):
    """After the upgrade a touched-but-equal copy still follows the task; a changed one is still kept."""
    task, personal = dirs
    write(task / "other.txt", "v1\n")
    assert sync_tree(task, personal).ok
    as_version_1(personal)
    later(personal / "data" / "input.csv", "a,b\n1,2\n")  # touched, same bytes
    later(personal / "other.txt", "v9\n")  # the student's change, same size
    later(task / "data" / "input.csv", "a,b\n1,2\n3,4\n")
    later(task / "other.txt", "v2\n")
    report = sync_tree(task, personal)
    assert actions(report)["data/input.csv"] == UPDATED, report.results
    assert actions(report)["other.txt"] == KEPT
    assert (personal / "data" / "input.csv").read_text() == "a,b\n1,2\n3,4\n"
    assert (personal / "other.txt").read_text() == "v9\n"
    files = json.loads((personal / MANIFEST_NAME).read_text())["files"]
    assert files["data/input.csv"]["dst_sha"] == xxh128(b"a,b\n1,2\n3,4\n")  # upgraded as it was copied
    assert set(actions(sync_tree(task, personal)).values()) <= {UNCHANGED, KEPT}


def test_a_version_1_task_digest_still_tells_a_touched_task_file_from_a_changed_one(dirs):
    task, personal = dirs
    assert sync_tree(task, personal).ok
    as_version_1(personal)
    later(task / "data" / "input.csv", "a,b\n1,2\n")  # the teacher touched it, same bytes
    report = sync_tree(task, personal)
    assert actions(report)["data/input.csv"] == UNCHANGED
    assert json.loads((personal / MANIFEST_NAME).read_text())["files"]["data/input.csv"]["src_sha"] == xxh128(
        b"a,b\n1,2\n"
    )


def test_a_kept_copy_is_not_read_again_while_it_stays_as_it_is(dirs, monkeypatch):
    """A changed copy of a size sync knows is hashed once, then kept by its recorded stat; any change
    of that stat (a write, a replacement, a restore of the task's bytes) looks at the content again."""
    task, personal = dirs
    assert sync_tree(task, personal).ok
    later(personal / "data" / "input.csv", "a,b\n9,9\n")  # same size as the task's
    real = sync_mod.digest_file
    calls: list[str] = []

    def counting(name, dir_fd, algorithms, size):
        calls.append(name)
        return real(name, dir_fd, algorithms, size)

    monkeypatch.setattr(sync_mod, "digest_file", counting)
    assert actions(sync_tree(task, personal))["data/input.csv"] == KEPT
    assert calls == ["input.csv"]
    later(task / "data" / "input.csv", "a,b\n1,3\n")  # the teacher's update never reaches it
    for _ in range(2):
        assert actions(sync_tree(task, personal))["data/input.csv"] == KEPT
    assert calls == ["input.csv"]
    assert (personal / "data" / "input.csv").read_text() == "a,b\n9,9\n"
    later(personal / "data" / "input.csv", "a,b\n8,8\n")  # changed again
    assert actions(sync_tree(task, personal))["data/input.csv"] == KEPT
    assert calls == ["input.csv"] * 2
    # restored to what sync copied: the copy is the task's again and follows it
    later(personal / "data" / "input.csv", "a,b\n1,2\n")
    report = sync_tree(task, personal)
    assert actions(report)["data/input.csv"] == UPDATED, report.results
    assert (personal / "data" / "input.csv").read_text() == "a,b\n1,3\n"
    assert not sync_tree(task, personal).changed


def test_without_xxhash_sha256_is_written_and_a_later_sync_with_it_reads_it(dirs, monkeypatch):
    task, personal = dirs
    from ipynb_tools.sync import digest

    with monkeypatch.context() as m:
        m.setattr(digest, "_xxhash", None)
        m.setattr(digest, "WRITTEN", digest.SHA256)
        assert sync_tree(task, personal).ok
        entry = json.loads((personal / MANIFEST_NAME).read_text())["files"]["data/input.csv"]
        assert entry["dst_sha"] == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    later(personal / "data" / "input.csv", "a,b\n1,2\n")  # touched, same bytes
    later(task / "data" / "input.csv", "a,b\n1,2\n3,4\n")
    assert actions(sync_tree(task, personal))["data/input.csv"] == UPDATED
    with monkeypatch.context() as m:  # and back: an XXH3 record read without xxhash keeps, never overwrites
        m.setattr(digest, "_xxhash", None)
        m.setattr(digest, "WRITTEN", digest.SHA256)
        later(personal / "data" / "input.csv", "a,b\n1,2\n3,4\n")  # touched, same bytes
        later(task / "data" / "input.csv", "v5\n")
        assert actions(sync_tree(task, personal))["data/input.csv"] == KEPT
        assert (personal / "data" / "input.csv").read_text() == "a,b\n1,2\n3,4\n"


def test_one_malformed_record_entry_costs_only_that_file_its_history(dirs):
    task, personal = dirs
    assert sync_tree(task, personal).ok
    path = personal / MANIFEST_NAME
    record = json.loads(path.read_text())
    record["files"]["日本語 の ファイル.txt"] = {"src": "garbage"}
    path.write_text(json.dumps(record))
    later(personal / "data" / "input.csv", "a,b\n1,2\n")  # touched, same bytes: still ours
    later(task / "data" / "input.csv", "a,b\n1,2\n3,4\n")
    report = sync_tree(task, personal)
    assert actions(report)["data/input.csv"] == UPDATED
    assert actions(report)["日本語 の ファイル.txt"] == ADOPTED  # equal to the task file: taken back
    assert json.loads(path.read_text())["files"]["日本語 の ファイル.txt"]["dst_sha"] == xxh128("こんにちは\n".encode())
    assert not sync_tree(task, personal).changed


def test_a_running_writers_temp_files_are_left_alone_and_a_killed_ones_removed(dirs):
    """Two starts of one server can sync at once: the clean-up must not pull a temp file from under the other."""
    task, personal = dirs
    assert sync_tree(task, personal).ok
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    try:
        live = write(personal / "data" / f".input.csv.{running.pid}-1{TEMP_SUFFIX}", "being written")
        stale = write(personal / "data" / f".input.csv.{int(gone.stdout)}-1{TEMP_SUFFIX}", "left by a kill")
        assert sync_tree(task, personal).ok
        assert live.exists()
        assert not stale.exists()
    finally:
        running.kill()
        running.wait()
    assert sync_tree(task, personal).ok
    assert not live.exists()  # its writer is gone now


def test_a_killed_syncs_temp_files_are_removed_by_a_later_sync_that_has_its_pid(dirs):
    """A container's start runs the same processes in the same order: the next start's sync often has
    the pid of the sync a stop killed. Its temp files are not this sync's own: removed, not kept a day."""
    task, personal = dirs
    assert sync_tree(task, personal).ok
    pid = os.getpid()  # this process plays the later sync with the killed one's pid
    left = [
        write(personal / "data" / f".input.csv.{pid}-0{TEMP_SUFFIX}", "left by the killed sync"),  # never issued here
        write(personal / f".kadai-1.ipynb.{pid}-987654321{TEMP_SUFFIX}", "left by the killed sync"),
    ]
    fd, mine = fileops.open_temp(str(personal / "data" / "input.csv"))  # one this process is writing
    os.close(fd)
    assert sync_tree(task, personal).ok
    assert not [p for p in left if p.exists()]
    assert Path(mine).exists()
    os.unlink(mine)


#: A sync in its own pid namespace (a container's start); with "kill", it dies once its copies are staged.
_NAMESPACED_SYNC = """
import os, sys
from ipynb_tools.sync import tree
if sys.argv[3] == "kill":
    tree._Syncer.place = lambda self, staged, manifest: os._exit(9)  # killed before placing anything
print(os.getpid(), tree.sync_tree(sys.argv[1], sys.argv[2]).summary())
"""


@pytest.mark.root
def test_in_a_pid_namespace_the_next_start_removes_what_a_killed_sync_left(dirs):
    """Real pid namespaces, as containers have: the killed sync and the next one are both pid 1."""
    require_root("a pid namespace per sync, as each container start has")
    task, personal = dirs

    def start(mode: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["unshare", "--pid", "--fork", sys.executable, "-c", _NAMESPACED_SYNC, str(task), str(personal), mode],
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert start("kill").returncode == 9
    left = [p.name for p in personal.rglob("*" + TEMP_SUFFIX)]
    assert left and all(".1-" in name for name in left)  # pid 1's temp files
    done = start("sync")
    assert done.returncode == 0 and done.stdout.startswith("1 "), done.stderr
    assert not list(personal.rglob("*" + TEMP_SUFFIX))


#: A sync in a child whose limit on open files is a container's kind (tests below).
_LOW_LIMIT_SYNC = """
import json, sys
from ipynb_tools.sync import sync_tree
print(json.dumps([sync_tree(sys.argv[1], dest).summary() for dest in sys.argv[2:]]))
"""


def _sync_under_a_low_limit(task: Path, *dests: Path, limit: int = 400) -> list[str]:
    """Sync ``task`` into each of ``dests`` in turn, in one child with RLIMIT_NOFILE ``limit``; their summaries."""
    import resource

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    done = subprocess.run(
        [sys.executable, "-c", _LOW_LIMIT_SYNC, str(task), *map(str, dests)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=low_limit,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _many_directories(root: Path, content: str) -> list[str]:
    """24 directories of 20 sub-directories each (504 in all, more than the limit of 400 open files),
    a file in each; their relative paths."""
    files = []
    for i in range(24):
        files.append(f"w{i:02}/top.txt")
        files += [f"w{i:02}/d{j:02}/f.txt" for j in range(20)]
    for rel in files:
        write(root / rel, f"{content} {rel}\n")
    return files


def test_trees_of_more_directories_than_open_files_sync_first_and_again(tmp_path):
    """Both the task's and the personal directory's directories are opened through descriptors:
    a sync holds as many open as the tree is deep, not one per directory. With a container's
    low limit on open files (400 here, often 1,024), a task of 504 directories still syncs into
    an empty personal directory, again with nothing changed, again after the teacher changed
    every file, and into an existing personal tree of as many directories without a record."""
    task, personal, existing = tmp_path / "task", tmp_path / "personal", tmp_path / "existing"
    files = _many_directories(task, "v1")
    personal.mkdir()
    first, again = _sync_under_a_low_limit(task, personal, personal)
    assert f": copied {len(files)} (" in first, first
    assert f": unchanged {len(files)} (" in again, again
    assert {rel: (personal / rel).read_text() for rel in files} == {rel: f"v1 {rel}\n" for rel in files}

    # The teacher changes every file; an existing tree of the student's own: half the files as the
    # task has them (adopted), half the student's own (moved aside, the task's copied).
    for rel in files:
        later(task / rel, f"v2 {rel}\n")
    for n, rel in enumerate(files):
        write(existing / rel, f"v2 {rel}\n" if n % 2 else f"student's {rel}\n")
    updated, adopted = _sync_under_a_low_limit(task, personal, existing)
    assert f": updated {len(files)} (" in updated, updated
    assert f"adopted {len(files) // 2}" in adopted and f"moved-aside {len(files) // 2}" in adopted, adopted
    for dest in (personal, existing):
        assert {rel: (dest / rel).read_text() for rel in files} == {rel: f"v2 {rel}\n" for rel in files}
    aside = [p.read_text() for p in existing.rglob("*.txt") if p.name not in ("f.txt", "top.txt")]
    assert sorted(aside) == sorted(f"student's {rel}\n" for n, rel in enumerate(files) if not n % 2)
    (again,) = _sync_under_a_low_limit(task, existing)
    assert f": unchanged {len(files)} (" in again, again


@pytest.mark.parametrize("replacement", ["link", "directory"])
def test_a_directory_replaced_between_copy_and_placement_gets_nothing(tmp_path, monkeypatch, replacement):
    """A copy's directory is opened again to place it (a run's copies span more directories than
    may stay open): when the student renamed it and put a link or another directory at its name
    meanwhile, that file fails and nothing is placed there or through the link; the next sync
    moves a link aside and copies."""
    task, personal, outside = tmp_path / "task", tmp_path / "personal", tmp_path / "outside"
    write(task / "week1" / "a.txt", "task a\n")
    write(task / "week2" / "b.txt", "task b\n")
    personal.mkdir()
    outside.mkdir()
    real_place = sync_mod._Syncer.place

    def replacing_place(self, staged, manifest):
        (personal / "week1").rename(personal / "week1.student")
        if replacement == "link":
            (personal / "week1").symlink_to(outside)
        else:
            (personal / "week1").mkdir()
        return real_place(self, staged, manifest)

    monkeypatch.setattr(sync_mod._Syncer, "place", replacing_place)
    report = sync_tree(task, personal, now=NOW)
    monkeypatch.setattr(sync_mod._Syncer, "place", real_place)
    failed = {r.rel: r.detail for r in report.results if r.action == "failed"}
    assert list(failed) == ["week1/a.txt"] and "moved or replaced during the sync" in failed["week1/a.txt"]
    assert actions(report)["week2/b.txt"] == COPIED
    assert (
        list(outside.iterdir()) == []
        and list((personal / "week1").iterdir() if replacement == "directory" else []) == []
    )
    report = sync_tree(task, personal, now=NOW)
    assert report.ok and actions(report)["week1/a.txt"] in (COPIED, MOVED_ASIDE)
    assert (personal / "week1" / "a.txt").read_text() == "task a\n" and not (personal / "week1").is_symlink()
    assert list(outside.iterdir()) == []


# -- copy processes -------------------------------------------------------------------------------------


def _weeks(task: Path, weeks: int = 6, files: int = 5, text: str = "v1") -> list[str]:
    rels = [f"week{w}/f{i}.txt" for w in range(weeks) for i in range(files)]
    for rel in rels:
        write(task / rel, f"{text} {rel}\n")
    return rels


def test_a_run_copied_by_several_processes_is_what_one_process_makes(tmp_path, monkeypatch):
    """Split among 3 copy processes (thresholds lowered so a small tree is split): the same files,
    actions, record and reports as one process, a student's entry in a directory's way moved aside
    and reported once, an untouched copy updated and a changed one kept."""
    monkeypatch.setattr(workers_mod, "SPLIT_MIN_FILES", 2)
    split_into: list[int] = []
    real_run_split = sync_mod.run_split

    def counting(runs, work):
        split_into.append(len(runs))
        return real_run_split(runs, work)

    monkeypatch.setattr(sync_mod, "run_split", counting)
    results = {}
    for n in (1, 3):
        task, personal = tmp_path / f"task{n}", tmp_path / f"personal{n}"
        personal.mkdir()
        rels = _weeks(task)
        assert sync_tree(task, personal, workers=n, now=NOW).ok
        later(task / "week0/f0.txt", "teacher's fix\n")
        later(task / "week5/f1.txt", "teacher's fix\n")
        later(personal / "week5/f1.txt", "student's answer\n")
        (personal / "week2").rename(personal / "week2.mine")
        (personal / "week2").symlink_to(personal / "week2.mine")  # a link where the task has a directory
        write(task / "week7" / "new.txt", "new\n")
        write(personal / "week7", "a file where a directory belongs")
        progress: list[str] = []
        report = sync_tree(task, personal, workers=n, now=NOW, progress=lambda r, seen=progress: seen.append(r.rel))
        assert report.ok
        results[n] = (
            sorted((r.rel, r.action, r.detail) for r in report.results),
            sorted(progress),
            {k: v for k, v in listing(personal).items() if k != MANIFEST_NAME},
            json.loads((personal / MANIFEST_NAME).read_text())["files"].keys(),
        )
        assert (personal / "week0/f0.txt").read_text() == "teacher's fix\n"
        assert (personal / "week5/f1.txt").read_text() == "student's answer\n"
        assert (personal / f"week2.{STAMP}").is_symlink() and (personal / f"week7.{STAMP}").is_file()
        assert sorted([*rels, "week7/new.txt"]) == sorted(results[n][3])
        assert not [p for p in personal.rglob("*") if p.name.endswith(TEMP_SUFFIX)]
        assert set(actions(sync_tree(task, personal, workers=n)).values()) <= {UNCHANGED, KEPT}
    moved = [r for r in results[3][0] if r[1] == MOVED_ASIDE]
    assert [(rel, detail) for rel, _, detail in moved] == [
        ("week2/f0.txt", f"student's week2 moved to week2.{STAMP}"),
        ("week7/new.txt", f"student's week7 moved to week7.{STAMP}"),
    ]
    assert results[1] == results[3]
    # one process alone never forks; with three, the first sync (30 files in 6 directories) was split in
    # three, the second (7 copies in 3 directories, one holding 5) in two, the unchanged re-sync not at all
    assert split_into == [3, 2]


def test_a_killed_copy_process_fails_only_its_files_and_the_next_sync_copies_them(tmp_path, monkeypatch):
    monkeypatch.setattr(workers_mod, "SPLIT_MIN_FILES", 2)
    task, personal = tmp_path / "task", tmp_path / "personal"
    personal.mkdir()
    rels = _weeks(task)
    real = sync_mod._Syncer.copy_part

    def dying(self, run, in_child):
        if in_child and any(job[0] == "week5/f0.txt" for job in run):
            staged = real(self, run[:2], in_child)  # two temp files written, then the process is killed
            assert staged[0]
            os.kill(os.getpid(), signal.SIGKILL)
        return real(self, run, in_child)

    monkeypatch.setattr(sync_mod._Syncer, "copy_part", dying)
    report = sync_tree(task, personal, workers=2)
    failed = {r.rel: r.detail for r in report.results if r.action == "failed"}
    assert failed and all("killed by signal 9" in d for d in failed.values()), report.results
    assert "week5/f0.txt" in failed and "week0/f0.txt" not in failed
    assert {r.rel for r in report.results if r.action == COPIED} == set(rels) - set(failed)
    for rel in failed:
        assert not (personal / rel).exists()
    assert not [p for p in personal.rglob("*") if p.name.endswith(TEMP_SUFFIX)]  # the dead process's: removed
    monkeypatch.setattr(sync_mod._Syncer, "copy_part", real)
    again = sync_tree(task, personal, workers=2)
    assert again.ok and {r.rel for r in again.results if r.action == COPIED} == set(failed)
    assert not [p for p in personal.rglob("*") if p.name.endswith(TEMP_SUFFIX)]
    assert listing(task) == {k: v for k, v in listing(personal).items() if k != MANIFEST_NAME}


def test_a_move_made_before_a_split_is_reported_once_when_the_directory_spans_two_runs(tmp_path, monkeypatch):
    """A link in a directory's way is moved aside by the sync before the split, reported by the copy
    process that copies the directory; a later placement run into the same directory reported it again."""
    monkeypatch.setattr(workers_mod, "SPLIT_MIN_FILES", 2)
    monkeypatch.setattr(sync_mod, "PLACE_BATCH_FILES", 100)
    task, personal, elsewhere = tmp_path / "task", tmp_path / "personal", tmp_path / "elsewhere"
    personal.mkdir()
    elsewhere.mkdir()
    for d in ("a", "b"):  # runs of 100: a/0-99; a/100-149 and b/0-49 (split in two); b/50-149
        for i in range(150):
            write(task / d / f"f{i:03}.txt", f"{d}{i}\n")
    (personal / "b").symlink_to(elsewhere)
    report = sync_tree(task, personal, workers=2, now=NOW)
    assert report.ok
    moved = [(r.rel, r.detail) for r in report.results if r.action == MOVED_ASIDE]
    assert moved == [("b/f000.txt", f"student's b moved to b.{STAMP}")]
    assert (personal / f"b.{STAMP}").is_symlink() and list(elsewhere.iterdir()) == []
    assert listing(task) == {k: v for k, v in listing(personal).items() if k != MANIFEST_NAME}


def test_a_move_made_for_a_copy_process_that_is_killed_is_still_reported(tmp_path, monkeypatch):
    """The student's file in a directory's way is moved aside before the split; the process copying
    that directory dies: the move is reported by the sync (it was reported by no one)."""
    monkeypatch.setattr(workers_mod, "SPLIT_MIN_FILES", 2)
    task, personal = tmp_path / "task", tmp_path / "personal"
    personal.mkdir()
    _weeks(task)
    write(personal / "week5", "a file where a directory belongs")
    real = sync_mod._Syncer.copy_part

    def dying(self, run, in_child):
        if in_child and any(job[0].startswith("week5/") for job in run):
            os.kill(os.getpid(), signal.SIGKILL)
        return real(self, run, in_child)

    monkeypatch.setattr(sync_mod._Syncer, "copy_part", dying)
    report = sync_tree(task, personal, workers=2, now=NOW)
    assert any(r.action == "failed" and r.rel.startswith("week5/") for r in report.results)
    moved = [(r.rel, r.detail) for r in report.results if r.action == MOVED_ASIDE]
    assert moved == [("week5", f"student's week5 moved to week5.{STAMP}")]
    assert (personal / f"week5.{STAMP}").read_text() == "a file where a directory belongs"


@pytest.mark.parametrize("processes", [1, 3])
def test_a_directory_renamed_during_the_sync_keeps_no_temp_file(tmp_path, monkeypatch, processes):
    """The student renames a directory (``mv week3 week3-old``; and one put back as a link) while the
    copies are made: its copies are not placed (they fail, copied by the next sync), and their temp
    files, written in the renamed directory, are removed (they stayed there for good)."""
    monkeypatch.setattr(workers_mod, "SPLIT_MIN_FILES", 2)
    task, personal = tmp_path / "task", tmp_path / "personal"
    personal.mkdir()
    rels = _weeks(task)
    for i in range(3):  # in a directory below the one renamed
        rels.append(f"week3/deep/g{i}.txt")
        write(task / rels[-1], f"v1 {rels[-1]}\n")
    real = sync_mod._Syncer.place

    def student_renames_first(self, staged, manifest):
        (personal / "week3").rename(personal / "week3-old")
        (personal / "week4").rename(personal / "week4-old")
        (personal / "week4").symlink_to("week4-old")
        return real(self, staged, manifest)

    monkeypatch.setattr(sync_mod._Syncer, "place", student_renames_first)
    report = sync_tree(task, personal, workers=processes)
    failed = {r.rel for r in report.results if r.action == "failed"}
    assert failed == {rel for rel in rels if rel.startswith(("week3/", "week4/"))}
    assert sorted(p.name for p in (personal / "week3-old").iterdir()) == ["deep"]
    assert sorted(p.name for p in (personal / "week3-old" / "deep").iterdir()) == []
    assert sorted(p.name for p in (personal / "week4-old").iterdir()) == []
    monkeypatch.setattr(sync_mod._Syncer, "place", real)
    again = sync_tree(task, personal, workers=processes, now=NOW)
    assert again.ok
    assert {r.rel for r in again.results if r.action in (COPIED, MOVED_ASIDE)} == failed
    assert (personal / f"week4.{STAMP}").is_symlink()
    assert not [p for p in personal.rglob("*") if p.name.endswith(TEMP_SUFFIX)]
    for rel in rels:
        assert (personal / rel).read_text() == (task / rel).read_text(), rel


def test_a_move_for_a_directory_whose_files_surround_a_sub_directory_is_reported_once(tmp_path, monkeypatch):
    """The walk lists ``a/b.txt``, then ``a/c/``'s files, then ``a/d.txt``: split among processes, ``a``
    still goes to one of them, so the student's link moved aside from ``a`` is reported once."""
    monkeypatch.setattr(workers_mod, "SPLIT_MIN_FILES", 2)
    task, personal, outside = tmp_path / "task", tmp_path / "personal", tmp_path / "outside"
    write(task / "a" / "b.txt", "b\n")
    for i in range(20):
        write(task / "a" / "c" / f"x{i:02}.txt", f"x{i}\n")
    write(task / "a" / "d.txt", "d\n")
    for i in range(20):
        write(task / "e" / f"y{i:02}.txt", f"y{i}\n")
    personal.mkdir()
    outside.mkdir()
    (personal / "a").symlink_to(outside)
    report = sync_tree(task, personal, workers=2, now=NOW)
    assert report.ok, report.results
    moves = [(r.rel, r.detail) for r in report.results if r.action == MOVED_ASIDE]
    assert moves == [("a/b.txt", f"student's a moved to a.{STAMP}")], moves
    assert list(outside.iterdir()) == [] and (personal / f"a.{STAMP}").is_symlink()
    assert listing(task) == {k: v for k, v in listing(personal).items() if k != MANIFEST_NAME}
