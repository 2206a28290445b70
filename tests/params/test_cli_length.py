"""``ipynb-tools params``: the stored length in check, show, the edits and format (exit codes)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ipynb_tools.cli.main import cli
from ipynb_tools.params.compact import compact
from ipynb_tools.params.storage import COLUMN_SIZE_ENV, stored_length

from .test_storage import REALISTIC

#: Exactly 255 with the typical automatic keys (41 + 214).
SMALL = "lms_users=*\r\nlms_teachers=iseki,tanaka1\r\n"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={COLUMN_SIZE_ENV: None})


def write(tmp_path, text: str, name: str = "params.txt"):
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def run(runner, *args, input=None, env=None):
    return runner.invoke(cli, ["params", *map(str, args)], input=input, env=env)


def test_check_over_the_column_is_an_error(runner, tmp_path):
    path = write(tmp_path, REALISTIC)
    size = stored_length(REALISTIC).size
    result = run(runner, "check", path, "--now", "0")
    assert result.exit_code == 1
    (line,) = [line for line in result.stdout.splitlines() if "instructorcustomparameters" in line]
    assert line.startswith(f"{path}: error: the text is {size} characters with the automatic keys: {size - 255} over")
    assert "the room goes to automatic keys" in line and "params format --compact" in line
    data = json.loads(run(runner, "check", path, "--now", "0", "--json").stdout)
    assert data[-1]["severity"] == "error" and data[-1]["key"] == "instructorcustomparameters"


def test_check_column_size_option_and_site_setting(runner, tmp_path):
    path = write(tmp_path, REALISTIC)
    wide = run(runner, "check", path, "--now", "0", "--column-size", "1000")
    assert wide.exit_code == 0 and f"info: the text is {stored_length(REALISTIC).size} of 1000" in wide.stdout
    assert run(runner, "check", path, "--now", "0", env={COLUMN_SIZE_ENV: "1000"}).exit_code == 0
    # the option wins over the site setting
    assert (
        run(runner, "check", path, "--now", "0", "--column-size", "255", env={COLUMN_SIZE_ENV: "1000"}).exit_code == 1
    )
    bad = run(runner, "check", path, env={COLUMN_SIZE_ENV: "wide"})
    assert bad.exit_code == 1 and COLUMN_SIZE_ENV in bad.stderr and bad.stderr.count("\n") == 1
    for bad_size in ("0", "-1", "wide", "２５５"):
        refused = run(runner, "check", path, "--column-size", bad_size)
        assert refused.exit_code == 1 and refused.stderr.count("\n") == 1 and "--column-size" in refused.stderr


def test_text_column_counts_without_a_limit(runner, tmp_path):
    """Moodle 3.11 and later store the text in a 'text' column: counted, never an error."""
    path = write(tmp_path, REALISTIC)
    size = stored_length(REALISTIC).size
    for args, env in ((["--column-size", "text"], {}), ([], {COLUMN_SIZE_ENV: "TEXT"})):
        result = run(runner, "check", path, "--now", "0", *args, env=env)
        assert result.exit_code == 0, result.output
        assert f"info: the text is {size} characters as stored (a text column: no limit)" in result.stdout
        shown = run(runner, "show", path, *args, env=env)
        assert shown.exit_code == 0 and f"stored length: {size} characters (a text column: no limit)" in shown.stdout
    # a 255 column still refuses the same text
    assert (
        run(runner, "check", path, "--now", "0", "--column-size", "255", env={COLUMN_SIZE_ENV: "text"}).exit_code == 1
    )


def test_check_near_the_column_is_a_warning(runner, tmp_path):
    path = write(tmp_path, SMALL)
    size = stored_length(SMALL).size
    result = run(runner, "check", path, "--column-size", size + 2)
    assert result.exit_code == 0 and f"warning: the text is {size} of {size + 2} characters" in result.stdout
    assert run(runner, "check", path, "--column-size", size + 2, "--strict").exit_code == 1
    assert run(runner, "check", path, "--column-size", size - 1).exit_code == 1


def test_check_automatic_options(runner, tmp_path):
    path = write(tmp_path, SMALL)
    assert run(runner, "check", path).exit_code == 0  # typical automatic keys: fits 255 exactly
    longer = run(runner, "check", path, "--automatic", "lms_course=" + "長い" * 10)
    assert longer.exit_code == 1 and "over the 255-character column" in longer.stdout
    fewer = run(runner, "check", path, "--automatic", "lms_rpctoken", "--automatic", "lms_iframe")
    assert fewer.exit_code == 0 and "info: the text is" in fewer.stdout
    none = run(runner, "check", path, "--no-automatic")
    assert f"the text is {len(SMALL)} of 255 characters as stored" in none.stdout
    bad = run(runner, "check", path, "--automatic", "lms_users=x")
    assert bad.exit_code == 1 and "not an automatic key" in bad.stderr


def test_show_prints_the_length_and_fails_when_over(runner, tmp_path):
    over = write(tmp_path, REALISTIC, "over.txt")
    result = run(runner, "show", over)
    assert result.exit_code == 1
    assert "stored length: " in result.stdout and "OVER" in result.stdout
    assert f"{over}: error: the text is" in result.stderr
    data = json.loads(run(runner, "show", over, "--json").stdout)
    assert data["stored_length"]["left"] == 255 - stored_length(REALISTIC).size
    assert data["stored_length"]["parts"]["automatic keys"] > 0
    fits = write(tmp_path, SMALL, "fits.txt")
    result = run(runner, "show", fits)
    assert result.exit_code == 0 and "stored length: 255 of 255 characters (0 left)" in result.stdout
    assert "typical values for lms_sessioninfo" in result.stdout


def test_an_edit_that_makes_the_text_too_long_is_refused(runner, tmp_path):
    path = write(tmp_path, SMALL)
    before = path.read_bytes()
    result = run(runner, "add-volume", path, "sub", "kadai", "課題1提出用")
    assert result.exit_code == 1 and "refusing the edit, nothing changed" in result.stderr
    assert result.stderr.count("\n") == 1
    assert path.read_bytes() == before
    for args in (("set", path, "lms_image", "python"), ("set", path, "lms_teachers", "iseki,tanaka10")):
        assert run(runner, *args).exit_code == 1
        assert path.read_bytes() == before
    # on a wider column the same edit is made
    assert run(runner, "add-volume", path, "sub", "kadai", "課題1提出用", "--column-size", "300").exit_code == 0
    assert "lms_sub_kadai=課題1提出用" in path.read_text()


def test_an_edit_that_shortens_a_text_still_over_is_made_and_says_so(runner, tmp_path):
    path = write(tmp_path, REALISTIC)
    result = run(runner, "remove-volume", path, "prs", "kadai2")
    assert result.exit_code == 1 and "error: the text is" in result.stderr
    assert "lms_prs_kadai2" not in path.read_text()
    result = run(runner, "unset", path, "lms_image", "--column-size", "1000")
    assert result.exit_code == 0 and result.stderr == ""


def test_an_edit_near_the_column_warns(runner, tmp_path):
    path = write(tmp_path, "lms_users=*\r\n")
    result = run(runner, "set", path, "lms_teachers", "iseki", "--no-automatic", "--column-size", "34")
    assert result.exit_code == 0 and "warning: the text is 33 of 34 characters" in result.stderr


def test_format_exit_codes_and_compact(runner, tmp_path):
    path = write(tmp_path, REALISTIC)
    result = run(runner, "format", path)
    assert result.exit_code == 1 and result.stdout_bytes.startswith(b"lms_users=*\r\n")
    assert "error: the text is" in result.stderr
    short = run(runner, "format", path, "--compact")
    assert short.exit_code == 1 and short.stdout_bytes.decode() == compact(REALISTIC)
    size = stored_length(compact(REALISTIC)).size
    assert run(runner, "format", path, "--compact", "--column-size", size).exit_code == 0
    assert run(runner, "format", path, "--compact", "-i", "--column-size", size).exit_code == 0
    assert path.read_bytes().decode() == compact(REALISTIC)
    assert run(runner, "format", "-", "--compact", "--lf", "--no-automatic", input="lms_users = a, b\r\n").stdout == (
        "lms_users=a,b"
    )
    assert run(runner, "format", "-", "-i", "--compact", input="").exit_code == 2


def test_format_in_place_never_writes_a_longer_text_that_does_not_fit(runner, tmp_path):
    # 241 of 255 as written; the canonical form spells 2G in digits and adds lms_teachers=: 276
    text = "lms_memlimit=2G\nlms_vol_a=" + "x" * 212 + "\n"
    path = write(tmp_path, text)
    assert stored_length(text, typical=False).size == 241
    result = run(runner, "format", path, "-i", "--no-automatic")
    assert result.exit_code == 1 and path.read_bytes() == text.encode()
    assert result.stderr.count("\n") == 1 and "refusing the edit, nothing changed" in result.stderr
    assert str(path) in result.stderr and "the text is 276 characters" in result.stderr
    # printing it is not a change: printed, exit 1
    printed = run(runner, "format", path, "--no-automatic")
    assert printed.exit_code == 1 and printed.stdout_bytes.startswith(b"lms_users=\r\n")
    # the compact form fits (247): written
    assert run(runner, "format", path, "-i", "--compact", "--no-automatic").exit_code == 0
    assert path.read_bytes().decode() == compact(text)


def test_an_edit_that_changes_nothing_is_not_refused(runner, tmp_path):
    path = write(tmp_path, REALISTIC)
    result = run(runner, "set", path, "lms_users", "*")
    assert result.exit_code == 1 and "refusing" not in result.stderr
    assert f"{path}: error: the text is {stored_length(REALISTIC).size} characters" in result.stderr
    assert path.read_bytes() == REALISTIC.encode()
