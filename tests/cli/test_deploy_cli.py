"""The ipynb_deploy command line: the old and new forms, messages and exit codes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ipynb_tools.cli.deploy import main as deploy_main
from ipynb_tools.cli.main import cli

DATA = Path(__file__).parents[1] / "data" / "deploy"


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("v40.ipynb", "課題1 基礎.ipynb"):
        shutil.copy2(DATA / name, tmp_path / name)
    (tmp_path / "data.csv").write_text("x\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str, command=deploy_main):
    return CliRunner().invoke(command, list(args), catch_exceptions=False)


def test_dot_numbers_in_place_and_prints_summary(here: Path) -> None:
    result = run(".")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "numbered 2 file(s), 4 cell(s); copied 0; unchanged 0; failed 0"
    assert (here / "v40.ipynb").read_bytes() == (DATA / "expected" / "v40.ipynb").read_bytes()
    assert (here / "data.csv").read_text() == "x\n"
    again = run(".")
    assert again.output.splitlines()[-1] == "numbered 0 file(s), 4 cell(s); copied 0; unchanged 2; failed 0"


def test_old_form_dest_and_step(here: Path) -> None:
    (here / "task").mkdir()
    result = run("task", "10")
    assert result.exit_code == 0, result.output
    assert (here / "task" / "v40.ipynb").read_bytes() == (DATA / "expected-step10" / "v40.ipynb").read_bytes()
    assert (here / "task" / "data.csv").read_text() == "x\n"
    assert (here / "v40.ipynb").read_bytes() == (DATA / "v40.ipynb").read_bytes()  # sources untouched


def test_to_form_with_explicit_sources(here: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    result = run("v40.ipynb", "--to", str(dest), "--step", "10")
    assert result.exit_code == 0
    assert sorted(p.name for p in dest.iterdir()) == ["v40.ipynb"]


def test_missing_destination_is_one_line_and_exit_1(here: Path) -> None:
    result = CliRunner().invoke(deploy_main, ["nowhere"])
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.endswith(": error: nowhere: destination directory does not exist")


def test_bad_file_reported_exit_1_others_done(here: Path) -> None:
    (here / "bad.ipynb").write_text("{")
    result = run(".")
    assert result.exit_code == 1
    assert "failed: bad.ipynb: not valid JSON" in result.output
    assert result.output.splitlines()[-1].endswith("failed 1")
    assert (here / "bad.ipynb").read_text() == "{"


def test_dry_run_and_undo(here: Path) -> None:
    before = (here / "v40.ipynb").read_bytes()
    assert "dry run" in run(".", "--dry-run").output
    assert (here / "v40.ipynb").read_bytes() == before
    run(".")
    assert (here / "v40.ipynb").read_bytes() != before
    result = run("--undo", ".")
    assert result.exit_code == 0 and "restored 2 file(s)" in result.output
    assert (here / "v40.ipynb").read_bytes() == before


def test_umbrella_command_is_the_same(here: Path) -> None:
    result = run("deploy", ".", command=cli)
    assert result.exit_code == 0
    assert (here / "v40.ipynb").read_bytes() == (DATA / "expected" / "v40.ipynb").read_bytes()


def test_several_non_notebooks_without_to_is_a_usage_error(here: Path) -> None:
    result = CliRunner().invoke(deploy_main, ["a", "b", "c"])
    assert result.exit_code == 2 and "--to" in result.output


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_help_and_version_everywhere(args: list[str]) -> None:
    assert run(*args).exit_code == 0
    assert run(*args, command=cli).exit_code == 0
    assert "0.1.0" in run("--version").output


def test_every_listed_subcommand_has_help() -> None:
    from ipynb_tools.cli.main import COMMANDS

    for name in COMMANDS:
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0, f"{name}: {result.output}"


def test_console_script_runs_as_a_process(here: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "ipynb_tools.cli.deploy", "."], capture_output=True, text=True)
    assert proc.returncode == 0 and "numbered 2 file(s)" in proc.stdout
