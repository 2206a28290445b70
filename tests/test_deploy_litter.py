"""What interrupted deploys leave, and how much of the past deploys keep (issue 12, items 17 and 22).

A killed deploy leaves its hidden temp file: the next deploy (and the next params edit) removes
the temp files of its own user's dead writers and nothing else. Backups follow a documented
retention rule: the newest ``KEEP_BACKUPS`` generations per directory. A FIFO (or socket) named
like course material is reported as failed, never skipped in silence and never waited on.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from ipynb_tools.cli.deploy import main as deploy_main
from ipynb_tools.deploy import BACKUP_DIR, FAILED, KEEP_BACKUPS, DeployError, backup_generations, deploy, undo
from ipynb_tools.fileops import TEMP_SUFFIX, open_temp, remove_stale_temps
from tests.requirements import require_root

DATA = Path(__file__).parent / "data" / "deploy"


@pytest.fixture
def course(tmp_path: Path) -> Path:
    work = tmp_path / "task"
    work.mkdir()
    shutil.copy2(DATA / "v40.ipynb", work / "kadai-1.ipynb")
    return work


def killed_writer_temp(folder: Path, name: str) -> Path:
    """A temp file left by a real writer killed with SIGKILL mid-write (as a killed deploy leaves it)."""
    code = (
        "import os, signal, sys\n"
        "from ipynb_tools.fileops import open_temp\n"
        f"fd, temp = open_temp({str(folder / name)!r})\n"
        "os.write(fd, b'{\"cells\": [')\n"
        "print(temp, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == -signal.SIGKILL
    temp = Path(result.stdout.strip())
    assert temp.exists() and temp.name.endswith(TEMP_SUFFIX)
    return temp


def test_a_killed_deploys_temp_file_is_removed_by_the_next_deploy(course: Path) -> None:
    stale = killed_writer_temp(course, "kadai-1.ipynb")
    # siblings that must stay: a live writer's temp, a link with a temp-like name, another user's file
    fd, live = open_temp(str(course / "kadai-1.ipynb"))
    os.close(fd)
    link = course / f".x.ipynb.999999-0{TEMP_SUFFIX}"
    link.symlink_to(course / "kadai-1.ipynb")
    report = deploy([course])
    assert report.ok and report.stale_temps == [stale]
    assert not stale.exists() and Path(live).exists() and link.is_symlink()
    os.unlink(live)


def test_a_temp_file_older_than_a_day_is_stale_even_when_its_pid_is_alive(course: Path) -> None:
    fd, live = open_temp(str(course / "kadai-1.ipynb"))  # this process: alive
    os.close(fd)
    assert remove_stale_temps(course) == []
    day_ago = time.time() - 25 * 3600
    os.utime(live, (day_ago, day_ago))  # a reused pid of a container restarted since
    assert remove_stale_temps(course) == [Path(live).name]


@pytest.mark.root
def test_another_users_temp_file_is_left_alone(course: Path) -> None:
    require_root("a file owned by another user")
    stale = killed_writer_temp(course, "kadai-1.ipynb")
    os.chown(stale, 54321, 54321)
    assert remove_stale_temps(course) == []
    assert stale.exists()


def test_destination_and_params_edits_clean_their_folders_too(course: Path, tmp_path: Path) -> None:
    dest = tmp_path / "published"
    dest.mkdir()
    stale = killed_writer_temp(dest, "kadai-1.ipynb")
    report = deploy([course / "kadai-1.ipynb"], dest)
    assert report.ok and report.stale_temps == [stale] and not stale.exists()
    params = tmp_path / "params.txt"
    params.write_text("lms_users=*\n")
    stale = killed_writer_temp(tmp_path, "params.txt")
    from ipynb_tools.params.edit import edit_params_file, set_param

    edit_params_file(params, set_param, "lms_teachers", "iseki")
    assert not stale.exists() and "lms_teachers=iseki" in params.read_text()


def _write_version(course: Path, n: int) -> None:
    """kadai-1.ipynb, not yet numbered, whose first cell says which version it is."""
    nb = json.loads((DATA / "v40.ipynb").read_text())
    nb["cells"][0]["source"] = f"print({n})"
    (course / "kadai-1.ipynb").write_text(json.dumps(nb))


def test_backups_keep_the_newest_generations_and_undo_walks_back_through_them(course: Path) -> None:
    for n in range(KEEP_BACKUPS + 3):
        _write_version(course, n)
        report = deploy([course])
        assert report.ok and report.backup is not None
        time.sleep(0.002)  # distinct stamps
    assert len(backup_generations(course)) == KEEP_BACKUPS
    assert len(report.pruned_backups) == 1
    # each undo restores what one deploy replaced, newest first, KEEP_BACKUPS times
    for n in range(KEEP_BACKUPS):
        undo(course)
        assert (
            json.loads((course / "kadai-1.ipynb").read_text())["cells"][0]["source"] == f"print({KEEP_BACKUPS + 2 - n})"
        )
    assert backup_generations(course) == []
    with pytest.raises(DeployError, match="no deploy backup to undo"):
        undo(course)


def test_keep_backups_option(course: Path) -> None:
    for keep, expected in ((0, 4), (2, 2)):
        shutil.rmtree(course / BACKUP_DIR, ignore_errors=True)
        for n in range(4):
            _write_version(course, n)
            result = CliRunner().invoke(deploy_main, [str(course), "--in-place", "--keep-backups", str(keep)])
            assert result.exit_code == 0, result.output
            time.sleep(0.002)
        assert len(backup_generations(course)) == expected
    assert "removed 1 old backup generation(s)" in result.output


@pytest.mark.parametrize("kind", ["fifo", "socket"])
@pytest.mark.parametrize("mode", ["in place", "into a destination", "explicit source"])
def test_a_fifo_named_like_course_material_fails_visibly_and_never_hangs(
    course: Path, tmp_path: Path, kind: str, mode: str
) -> None:
    names = ["x.ipynb", "data.csv"]
    holders = []
    for name in names:
        if kind == "fifo":
            os.mkfifo(course / name)
        else:
            s = socket.socket(socket.AF_UNIX)
            s.bind(str(course / name))
            holders.append(s)
    dest = tmp_path / "dest"
    dest.mkdir()
    args = {
        "in place": [str(course), "--in-place"],
        "into a destination": [str(course), "--to", str(dest)],
        "explicit source": [str(course / "x.ipynb"), "--in-place"],
    }[mode]
    signal.alarm(30)  # a hang fails the test instead of wedging the run
    try:
        result = CliRunner().invoke(deploy_main, args)
    finally:
        signal.alarm(0)
        for s in holders:
            s.close()
    assert result.exit_code == 1, result.output
    failed = [line for line in result.output.splitlines() if line.startswith("failed: ")]
    expected = {"x.ipynb"} if mode != "into a destination" else set(names)
    assert {line.split(": ")[1].rsplit("/", 1)[-1] for line in failed} == expected
    assert all("is not a regular file" in line for line in failed)
    assert f"failed {len(expected)}" in result.output.splitlines()[-1]
    assert "numbered 1 file(s)" in result.output or mode == "explicit source"
    assert sorted(os.listdir(dest)) == ([] if mode != "into a destination" else ["kadai-1.ipynb"])


def test_a_fifo_result_counts_as_failed_in_the_library(course: Path) -> None:
    os.mkfifo(course / "x.ipynb")
    report = deploy([course])
    (bad,) = [r for r in report.results if r.action == FAILED]
    assert bad.source == course / "x.ipynb" and "is not a regular file" in (bad.error or "")
