"""The ipynb_submit command line: forms, receipt output, messages and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ipynb_tools.cli.main import cli
from ipynb_tools.cli.submit import main as submit_main
from ipynb_tools.notebook import dumps_notebook

FULL = "lms_sub_k1_42_lms.example.org"
ACCESS = "課題1提出用"
NB = {
    "cells": [
        {"cell_type": "code", "execution_count": None, "id": "a", "metadata": {}, "outputs": [], "source": ["1 + 1"]}
    ],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    works = tmp_path / "works"
    volume = works / ".volumes" / FULL
    volume.mkdir(parents=True)
    os.chmod(volume, 0o3777)
    (works / ACCESS).symlink_to(f".volumes/{FULL}")
    (tmp_path / "home").mkdir()
    work = tmp_path / "work"
    work.mkdir()
    (work / "kadai-1.ipynb").write_text(dumps_notebook(NB))
    for key in (
        "JUPYTERHUB_USER",
        "NB_USER",
        "NB_PRSNALS",
        "NB_SUBMITS_CLOSE",
        "IPYNB_SUBMIT_NAME_FORMAT",
        "IPYNB_SUBMIT_MAX_MB",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NB_WRKDIR", str(works))
    monkeypatch.setenv("NB_SUBMITS", f".volumes/{FULL}:{ACCESS}")
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    monkeypatch.chdir(work)
    return volume


def run(*args: str, command=submit_main):
    prog = "ipynb_submit" if command is submit_main else "ipynb-tools"
    return CliRunner().invoke(command, list(args), prog_name=prog, catch_exceptions=False)


def test_submit_prints_the_receipt(here: Path) -> None:
    result = run("kadai-1.ipynb", ACCESS)
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith(f"submitted kadai-1.ipynb -> {ACCESS}/kadai-1_alice.ipynb at ")
    assert "sha256 " in first and "kept in " in result.output
    assert (here / "kadai-1_alice.ipynb").exists()
    quiet = run("-q", "kadai-1.ipynb")
    assert quiet.exit_code == 0 and len(quiet.stdout.splitlines()) == 1 and "replaces your earlier copy" in quiet.stdout
    assert quiet.stderr == "warning: kadai-1.ipynb: no changes since your last submission\n"


def test_name_format_option(here: Path) -> None:
    assert run("--name-format", "prefix", "kadai-1.ipynb").exit_code == 0
    assert (here / "alice_kadai-1.ipynb").exists()
    bad = run("--name-format", "{stem}{suffix}", "kadai-1.ipynb")
    assert bad.exit_code == 1 and "must contain {user}" in bad.output


def test_errors_are_one_line_with_exit_codes(here: Path) -> None:
    unknown = run("kadai-1.ipynb", "課題9")
    assert unknown.exit_code == 1
    assert unknown.output == f"ipynb_submit: error: unknown submit target '課題9'; known targets: {ACCESS}\n"
    missing = run("nope.ipynb")
    assert missing.exit_code == 1 and missing.output.startswith("ipynb_submit: error: nope.ipynb: no such file")
    for args in ([], ["a.ipynb", "b", "c"], ["--all", "a", "b"], ["--list", "x"]):
        usage = run(*args)
        assert usage.exit_code == 2, (args, usage.output)
        assert usage.output.startswith("ipynb_submit: error: ")
    assert os.listdir(here) == []


def test_late_submission_says_when_it_closed(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NB_SUBMITS_CLOSE", f"{FULL}=1700000000")
    monkeypatch.setenv("TZ", "UTC")
    result = run("kadai-1.ipynb")
    assert result.exit_code == 1
    assert result.output == (
        f"ipynb_submit: error: {ACCESS}: submissions closed at 2023-11-14 22:13:20 UTC; nothing was submitted\n"
    )


def test_all_list_and_targets(here: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "kadai-2.ipynb").write_text(dumps_notebook(NB))
    result = run("--all")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == f"submitted 2, unchanged 0, failed 0 (from {work} to {ACCESS})"
    again = run("--all", ACCESS)
    assert "warning: kadai-1.ipynb: no changes since your last submission" in again.output
    assert again.output.splitlines()[-1].startswith("submitted 0, unchanged 2, failed 0")
    (work / "kadai-3.ipynb").write_text("{")
    failed = run("--all")
    assert failed.exit_code == 1 and "failed: " in failed.output
    listing = run("--list")
    lines = listing.output.splitlines()
    assert len(lines) == 2 and all(line.startswith("current ") for line in lines)
    assert f"{ACCESS}/kadai-1_alice.ipynb" in lines[0]
    assert run("--list", "--history").output.count("kept ") == 2
    targets = run("--targets")
    assert targets.output.startswith(f"{ACCESS}\t") and "\topen" in targets.output


def test_umbrella_command_maps_to_the_same(here: Path) -> None:
    result = run("submit", "kadai-1.ipynb", ACCESS, command=cli)
    assert result.exit_code == 0, result.output
    assert "kadai-1_alice.ipynb" in result.output
    assert CliRunner().invoke(cli, ["submit", "--help"]).exit_code == 0


def test_console_script_runs_as_a_process(here: Path) -> None:
    script = Path(sys.executable).parent / "ipynb_submit"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "ipynb_tools.cli.submit"]
    proc = subprocess.run([*cmd, "kadai-1.ipynb", ACCESS], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("submitted kadai-1.ipynb")
    copy = json.loads((here / "kadai-1_alice.ipynb").read_text())
    assert copy["cells"] == NB["cells"]
    proc = subprocess.run([*cmd, "kadai-1.ipynb", "nowhere"], capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr.startswith("ipynb_submit: error: unknown submit target")
