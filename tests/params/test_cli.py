"""``ipynb-tools params``: check, show, mounts, format, set, unset, add-volume, remove-volume."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ipynb_tools.cli.main import cli

TEXT = (
    "lms_users=*\r\nlms_teachers=iseki\r\nlms_memlimit=1,073,741,824\r\nlms_vol_kadai=-教材\r\n"
    "lms_sub_kadai=課題1提出用\r\nlms_sub_kadai_close=1000\r\nlms_prs_kadai=.\r\ntitle=Python\r\n"
)


@pytest.fixture
def runner() -> CliRunner:
    """A site that widened Moodle's column (these tests are not about length; test_cli_length.py is)."""
    return CliRunner(env={"IPYNB_TOOLS_PARAMS_COLUMN_SIZE": "4000"})


@pytest.fixture
def pfile(tmp_path):
    path = tmp_path / "params.txt"
    path.write_bytes(TEXT.encode())
    return path


def run(runner, *args, input=None):
    return runner.invoke(cli, ["params", *map(str, args)], input=input)


def test_check_warning_only_exits_0_error_exits_1(runner, pfile, tmp_path):
    result = run(runner, "check", pfile)
    assert result.exit_code == 0, result.output
    assert f"{pfile}:6: warning:" in result.stdout and "in the past" in result.stdout
    assert run(runner, "check", pfile, "--strict").exit_code == 1
    (note,) = run(runner, "check", pfile, "--now", "999").stdout.splitlines()
    assert ": info: the text is 373 of 4000 characters with the automatic keys (3627 left)" in note
    bad = tmp_path / "bad.txt"
    bad.write_text("lms_memlimit=lots\n")
    result = run(runner, "check", bad)
    assert result.exit_code == 1 and f"{bad}:1: error:" in result.stdout


def test_check_json_and_stdin(runner):
    result = run(runner, "check", "-", "--json", input="lms_userz=a\n")
    assert result.exit_code == 0
    finding, length = json.loads(result.stdout)
    assert finding["severity"] == "warning" and finding["line"] == 1
    assert length["severity"] == "info" and length["key"] == "instructorcustomparameters"


def test_show(runner, pfile):
    result = run(runner, "show", pfile)
    assert result.exit_code == 0
    assert "everyone (*)" in result.stdout and "teachers only" in result.stdout and "title=Python" in result.stdout
    data = json.loads(run(runner, "show", pfile, "--json").stdout)
    assert data["memlimit"] == 1073741824 and data["volumes"][0]["teacher_only"] is True


def test_mounts_json(runner, pfile):
    result = run(
        runner,
        "mounts",
        pfile,
        "--user",
        "s1",
        "--json",
        "--course",
        "98",
        "--host",
        "el.mml.tuis.ac.jp",
        "--at",
        "999",
    )
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert [(m["kind"], m["name"], m["access"], m["link"], m["full_name"], m["closed"]) for m in got] == [
        ("vol", "kadai", "-教材", None, "lms_vol_kadai_98_el.mml.tuis.ac.jp", False),
        ("sub", "kadai", "課題1提出用", "課題1提出用", "lms_sub_kadai_98_el.mml.tuis.ac.jp", False),
        ("prs", "kadai", ".", "lms_prs_kadai_98_el.mml.tuis.ac.jp", "lms_prs_kadai_98_el.mml.tuis.ac.jp", False),
    ]
    teacher = json.loads(run(runner, "mounts", pfile, "--user", "iseki", "--json", "--at", "1001").stdout)
    assert teacher[0]["link"] == "教材" and teacher[1]["closed"] is True and teacher[0]["full_name"] is None
    forced = json.loads(run(runner, "mounts", pfile, "--user", "x", "--teacher", "--json").stdout)
    assert forced[0]["link"] == "教材"


def test_mounts_text_and_usage_error(runner, pfile):
    result = run(runner, "mounts", pfile, "-u", "s1")
    assert result.exit_code == 0 and "s1 (student): 3 volume(s)" in result.stdout
    result = run(runner, "mounts", pfile, "-u", "s1", "--course", "98")
    assert result.exit_code == 2 and "error:" in result.stderr


def test_format_prints_canonical_crlf(runner, pfile):
    result = runner.invoke(cli, ["params", "format", str(pfile)])
    assert result.stdout_bytes.decode() == (
        "lms_users=*\r\nlms_teachers=iseki\r\nlms_memlimit=1073741824\r\nlms_sub_kadai_close=1000\r\n"
        "lms_vol_kadai=-教材\r\nlms_sub_kadai=課題1提出用\r\nlms_prs_kadai=.\r\ntitle=Python\r\n"
    )
    assert b"\r" not in run(runner, "format", "-", "--lf", input=TEXT).stdout_bytes
    assert run(runner, "format", pfile, "--in-place").exit_code == 0
    assert pfile.read_bytes() == result.stdout_bytes


def test_edit_commands(runner, pfile):
    assert run(runner, "set", pfile, "lms_image", "python-3.12").exit_code == 0
    assert run(runner, "add-volume", pfile, "task", "extra", "資料", "-u", "iseki,s1").exit_code == 0
    assert run(runner, "unset", pfile, "title").exit_code == 0
    assert run(runner, "remove-volume", pfile, "submit", "kadai").exit_code == 0
    assert pfile.read_bytes().decode() == (
        "lms_users=*\r\nlms_teachers=iseki\r\nlms_image=python-3.12\r\nlms_memlimit=1,073,741,824\r\n"
        "lms_vol_kadai=-教材\r\nlms_vol_extra=資料:iseki,s1\r\nlms_prs_kadai=.\r\n"
    )


def test_edit_errors_change_nothing(runner, pfile):
    before = pfile.read_bytes()
    for args in [
        ("set", pfile, "lms_cpulimit", "many"),
        ("unset", pfile, "lms_image"),
        ("add-volume", pfile, "vol", "kadai", "x"),
        ("remove-volume", pfile, "prs", "none"),
        ("add-volume", pfile, "disk", "a", "x"),
    ]:
        result = run(runner, *args)
        assert result.exit_code in (1, 2), args
        assert "error" in result.stderr.lower()
    assert pfile.read_bytes() == before


def test_missing_file_is_one_line(runner, tmp_path):
    result = run(runner, "show", tmp_path / "nope.txt")
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0 and "cannot read" in result.stderr


@pytest.mark.parametrize(
    "command", [["check"], ["show"], ["format"], ["set", "lms_users", "*"], ["unset", "lms_users"]]
)
def test_a_fifo_is_refused_at_once_not_waited_on(runner, tmp_path, command):
    """Issue 12, item 22: `params check`/`set` on a FIFO hung forever waiting for a writer."""
    import os
    import signal

    fifo = tmp_path / "params.txt"
    os.mkfifo(fifo)
    signal.alarm(20)  # a hang fails the test instead of wedging the run
    try:
        result = runner.invoke(cli, ["params", command[0], str(fifo), *command[1:]])
    finally:
        signal.alarm(0)
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.endswith(f"error: {fifo}: is not a regular file (a FIFO, socket or device); nothing was read")
    assert "Traceback" not in result.output
    assert os.path.exists(fifo) and not os.path.isfile(fifo)  # nothing replaced it


def test_a_directory_and_a_symlink_to_a_fifo(runner, tmp_path):
    import os

    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "link.txt").symlink_to(tmp_path / "fifo")
    result = run(runner, "check", tmp_path / "link.txt")
    assert result.exit_code == 1 and "is not a regular file" in result.output
    result = run(runner, "check", tmp_path)
    assert result.exit_code == 1 and "is a directory" in result.output
