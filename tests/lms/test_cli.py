"""``ipynb-tools moodle``: ltis, params show/set/unset/add-volume/remove-volume/replace, hide/show,
against the real servers; config.php given as a file; the password never printed."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import docker.errors
import pytest
from click.testing import CliRunner

from ipynb_tools.cli.main import cli
from ipynb_tools.volumes.naming import LABEL_COURSE

from .schema import COURSE, HUB_URL, TEXT_1, WWWROOT
from .servers import PASSWORD

pytestmark = pytest.mark.database

#: The installed console script, as an administrator runs it.
COMMAND = str(Path(sys.executable).parent / "ipynb-tools")


@pytest.fixture
def runner(tmp_path, monkeypatch) -> CliRunner:
    monkeypatch.setenv("IPYNB_TOOLS_EXECLOG_DB", str(tmp_path / "settings.sqlite"))
    monkeypatch.delenv("IPYNB_TOOLS_RPC_TOKEN", raising=False)
    return CliRunner()


def moodle(runner, site, *args, db=True, **kwargs):
    connection = ["--db", site.url, "--prefix", site.prefix, "--course", str(COURSE)] if db else []
    result = runner.invoke(cli, ["moodle", *map(str, args), *connection], **kwargs)
    assert PASSWORD not in result.output, "the password was printed"
    return result


def test_ltis_text_and_json(runner, site):
    result = moodle(runner, site, "ltis", "--hub-url", HUB_URL, "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["lti_id"] for r in rows] == [1, 4, 3, 6]
    assert {"cmid", "lti_id", "name", "section", "visible", "ours", "findings"} <= set(rows[0])
    assert rows[2]["visible"] is False and rows[2]["findings"] == 1 and all(r["ours"] for r in rows)
    everything = json.loads(moodle(runner, site, "ltis", "--hub-url", HUB_URL, "--all-tools", "--json").stdout)
    assert [r["lti_id"] for r in everything] == [1, 5, 4, 3, 6] and everything[1]["ours"] is False
    text = moodle(runner, site, "ltis", "--hub-domain", "hub.example.ac.jp")
    assert text.exit_code == 0 and text.stdout.splitlines()[0].startswith("lti 1 (cm 101, section 0) 課題1 (Jupyter)")
    assert "1 error(s)" in text.stdout
    refused = moodle(runner, site, "ltis")
    assert refused.exit_code == 1 and "--hub-url" in refused.stderr


def test_hide_and_show(runner, site):
    assert moodle(runner, site, "hide", 4).exit_code == 0
    listed = json.loads(moodle(runner, site, "ltis", "--hub-url", HUB_URL, "--json").stdout)
    assert [r["lti_id"] for r in listed] == [1, 3, 6]
    with_hidden = json.loads(moodle(runner, site, "ltis", "--hub-url", HUB_URL, "--hidden", "--json").stdout)
    assert [(r["lti_id"], r["hidden"]) for r in with_hidden][1] == (4, True)
    assert "already" in moodle(runner, site, "hide", 4).stdout
    assert moodle(runner, site, "show", 4).exit_code == 0
    listed = json.loads(moodle(runner, site, "ltis", "--hub-url", HUB_URL, "--json").stdout)
    assert [r["lti_id"] for r in listed] == [1, 4, 3, 6]
    other = moodle(runner, site, "hide", 7)
    assert other.exit_code == 1 and "belongs to course 3, not to course 2" in other.stderr
    assert site.text(1)[0] == TEXT_1  # nothing in Moodle's tables


def test_params_show(runner, site):
    result = moodle(runner, site, "params", "show", 1)
    assert result.exit_code == 0
    assert f"{len(TEXT_1)} of 255 characters used, {255 - len(TEXT_1)} left" in result.stdout
    assert "my_note = keep me exactly" in result.stdout
    data = json.loads(moodle(runner, site, "params", "show", 3, "--json").stdout)
    assert data["column"]["size"] == 255 and data["findings"][0]["severity"] == "error"


def test_edits_print_the_diff_and_write(runner, site, tmp_path):
    result = moodle(runner, site, "params", "set", 4, "lms_image", "scipy", "--wwwroot", WWWROOT)
    assert result.exit_code == 0, result.output
    assert "+lms_image=scipy" in result.stdout and "+lms_serverurl=https://lms.example.ac.jp:443" in result.stdout
    assert "only" in result.stderr  # less than a tenth of the column left: the params library's warning
    assert "written (timemodified" in result.stderr and "characters left in the column" in result.stderr
    assert "lms_image=scipy\n" in site.text(4)[0] and "lms_serverpath=/moodle\n" in site.text(4)[0]
    # with the site URL, LTI 1's text would not fit Moodle's 255 characters: refused, saying so
    too_long = moodle(runner, site, "params", "set", 1, "lms_image", "jupyter/datascience", "--wwwroot", WWWROOT)
    assert too_long.exit_code == 1 and "nothing was written" in too_long.stderr
    assert "over the 255-character column" in too_long.stderr and "the room goes to automatic keys" in too_long.stderr
    result = moodle(runner, site, "params", "set", 1, "lms_image", "jupyter/datascience")
    assert result.exit_code == 0, result.output
    text, _ = site.text(1)
    assert "lms_image=jupyter/datascience\r\n" in text
    assert moodle(runner, site, "params", "unset", 1, "lms_future_key").exit_code == 0
    text, _ = site.text(1)
    dry = moodle(runner, site, "params", "add-volume", 1, "submit", "kadai2", "提出2", "-n")
    assert dry.exit_code == 0, dry.output
    assert "+lms_sub_kadai2=提出2" in dry.stdout and "dry run" in dry.stderr
    assert site.text(1)[0] == text
    assert moodle(runner, site, "params", "add-volume", 1, "submit", "kadai2", "提出2").exit_code == 0
    assert "lms_sub_kadai2=提出2\r\n" in site.text(1)[0]
    assert moodle(runner, site, "params", "remove-volume", 1, "sub", "kadai2").exit_code == 0
    # a teacher-only access name starts with '-': a value, not an option
    dash = moodle(runner, site, "params", "set", 1, "lms_vol_kadai1", "-課題1")
    assert dash.exit_code == 0, dash.output
    assert "lms_vol_kadai1=-課題1\r\n" in site.text(1)[0]
    assert moodle(runner, site, "params", "add-volume", 1, "prs", "kadai1", "-私").exit_code == 0
    assert "lms_prs_kadai1=-私\r\n" in site.text(1)[0]
    new = tmp_path / "new.txt"
    new.write_text("lms_users=*\nlms_teachers=t1\n", encoding="utf-8")
    assert moodle(runner, site, "params", "replace", 1, "--from", new).exit_code == 0
    assert site.text(1)[0].startswith("lms_users=*\nlms_teachers=t1\n")
    same = moodle(runner, site, "params", "replace", 1, "--from", new)
    assert same.exit_code == 0 and "nothing to change" in same.stderr


def test_refusals_are_one_line_and_write_nothing(runner, site, tmp_path):
    before = site.text(1)
    cases = [
        (("params", "set", 1, "lms_memlimit", "1k"), "has an error"),
        (("params", "set", 1, "lms_cpulimit", "100"), "--force"),
        (("params", "unset", 1, "lms_nothing"), "there is no lms_nothing"),
        (("params", "set", 7, "lms_image", "x"), "belongs to course 3, not to course 2"),
        (("params", "set", 99, "lms_image", "x"), "no LTI activity 99"),
        (("params", "replace", 1, "--from", tmp_path / "missing.txt"), "missing.txt"),
        (("params", "replace", 1, "--from", "-"), "over the 255-character column"),
    ]
    for args, message in cases:
        result = moodle(runner, site, *args, input="lms_users=*\nnote=" + "x" * 300 + "\n")
        assert result.exit_code == 1, (args, result.output)
        assert message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.output
    assert site.text(1) == before
    # --create-volumes with no engine answering: refused before anything is written
    no_engine = moodle(
        runner,
        site,
        "params",
        "set",
        1,
        "lms_image",
        "x",
        "--create-volumes",
        "--lms-host",
        "lms.example.ac.jp",
        "--engine-url",
        f"unix://{tmp_path}/none.sock",
    )
    assert no_engine.exit_code == 1 and "container engine" in no_engine.stderr, no_engine.output
    assert len(no_engine.stderr.strip().splitlines()) == 1, no_engine.stderr
    assert site.text(1) == before
    # values may start with '-', keys may not: a mistyped option is not written as a parameter line
    typo = moodle(runner, site, "params", "set", 1, "--forse", "lms_image")
    assert typo.exit_code == 2 and "mistyped option" in typo.stderr
    assert site.text(1) == before
    # lti 5 launches another tool: with this hub configured, its parameters (and lms_rpctoken, a
    # secret of the collector) are not written there, with or without --force
    other_before = site.text(5)
    for extra in ((), ("--force",)):
        other = moodle(
            runner,
            site,
            "params",
            "set",
            5,
            "lms_image",
            "x",
            "--hub-url",
            HUB_URL,
            *extra,
            env={"IPYNB_TOOLS_RPC_TOKEN": "tok"},
        )
        assert other.exit_code == 1 and "not this JupyterHub" in other.stderr and "nothing was written" in other.stderr
        assert len(other.stderr.strip().splitlines()) == 1, other.stderr
    assert site.text(5) == other_before
    ours = moodle(runner, site, "params", "set", 4, "lms_image", "x", "--hub-domain", "hub.example.ac.jp")
    assert ours.exit_code == 0, ours.output
    forced = moodle(runner, site, "params", "set", 1, "lms_cpulimit", "100", "--force")
    assert forced.exit_code == 0 and "warning" in forced.stderr


def test_bad_connections_are_one_line_without_the_password(runner, site, tmp_path):
    wrong_password = site.server.url(site.database, password="not-" + PASSWORD)
    closed_port = site.url.replace(f":{site.server.port}/", ":1/")
    cases = [
        (["--db", wrong_password, "--prefix", site.prefix], ("password authentication failed", "Access denied")),
        (["--db", closed_port, "--prefix", site.prefix], ("connect", "Connection refused")),
        (["--db", site.url, "--prefix", "nope_"], ("is the table prefix 'nope_' right?",)),
        (["--moodle-config", tmp_path / "none.php"], ("none.php: does not exist",)),
        ([], ("--moodle-config PATH",)),
    ]
    for connection, messages in cases:
        result = runner.invoke(cli, ["moodle", "ltis", "--all-tools", "--course", COURSE, *map(str, connection)])
        assert result.exit_code != 0
        assert any(m in result.stderr for m in messages), result.stderr
        assert PASSWORD not in result.output and ("not-" + PASSWORD) not in result.output
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def _config_php(site, tmp_path, *, socket: bool) -> str:
    server = site.server
    if site.kind == "postgresql":
        dbtype, host = "pgsql", "localhost" if socket else "127.0.0.1"
        options = (
            f"'dbsocket' => '{server.base}', 'dbport' => {server.port}" if socket else f"'dbport' => '{server.port}'"
        )
    else:
        dbtype, host = "mariadb", "localhost" if socket else "127.0.0.1"
        options = f"'dbsocket' => '{server.socket_path}'" if socket else f"'dbport' => {server.port}"
    quoted = PASSWORD.replace("\\", "\\\\").replace("'", "\\'")
    path = tmp_path / f"config-{socket}.php"
    path.write_text(
        f"""<?php  // Moodle configuration file
unset($CFG);
global $CFG;
$CFG = new stdClass();
$CFG->dbtype    = "{dbtype}";  # {"the socket" if socket else "TCP"}
$CFG->dblibrary = 'native';
$CFG->dbhost    = '{host}';
$CFG->dbname    = '{site.database}';
$CFG->dbuser    = 'moodle';
$CFG->dbpass    = '{quoted}';
$CFG->prefix    = '{site.prefix}';
$CFG->dboptions = array (
  'dbpersist' => 0,
  {options},
);
$CFG->wwwroot   = '{WWWROOT}';
$CFG->dataroot  = '/var/moodledata';
require_once(__DIR__ . '/lib/setup.php');
""",
        encoding="utf-8",
    )
    return str(path)


@pytest.mark.parametrize("socket", [False, True], ids=["tcp", "socket"])
def test_moodle_config_php(runner, site, tmp_path, socket):
    config = _config_php(site, tmp_path, socket=socket)
    result = moodle(runner, site, "ltis", "--moodle-config", config, "--course", COURSE, "--hub-url", HUB_URL, db=False)
    assert result.exit_code == 0, result.output
    assert "lti 1 (cm 101" in result.stdout
    edit = moodle(
        runner, site, "params", "set", 4, "lms_users", "*", "--moodle-config", config, "--course", COURSE, db=False
    )
    assert edit.exit_code == 0, edit.output
    assert "lms_serverurl=https://lms.example.ac.jp:443\n" in site.text(4)[0]  # config.php's wwwroot


def test_a_site_url_that_is_not_a_url_is_one_line(runner, site):
    before = site.text(4)
    for args in (("ltis", "--all-tools"), ("hide", 4), ("params", "set", 4, "lms_image", "x", "--create-volumes")):
        result = moodle(runner, site, *args, "--wwwroot", "http://[lms.example.ac.jp/moodle")
        assert result.exit_code == 1, (args, result.output)
        assert "is not a URL" in result.stderr or "not an http(s) URL" in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert site.text(4) == before


def test_the_real_command_never_prints_the_password(site, tmp_path):
    """A subprocess, as an administrator runs it, with the password only in the environment."""
    no_password = site.server.url(site.database, password=None)
    env = {**os.environ, "IPYNB_TOOLS_MOODLE_DB_PASSWORD": PASSWORD, "IPYNB_TOOLS_EXECLOG_DB": str(tmp_path / "s.db")}
    ok = subprocess.run(
        [
            COMMAND,
            "moodle",
            "ltis",
            "--db",
            no_password,
            "--prefix",
            site.prefix,
            "--course",
            str(COURSE),
            "--all-tools",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert len(json.loads(ok.stdout)) == 5
    env["IPYNB_TOOLS_MOODLE_DB_PASSWORD"] = "wrong-" + PASSWORD
    bad = subprocess.run(
        [
            COMMAND,
            "moodle",
            "ltis",
            "--db",
            no_password,
            "--prefix",
            site.prefix,
            "--course",
            str(COURSE),
            "--all-tools",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 1 and PASSWORD not in bad.stdout + bad.stderr
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


@pytest.mark.engine
def test_create_volumes_after_writing(runner, site, docker_engine):
    """The old module's "make volumes": the new text's task and submit volumes, on the engine."""
    client = docker_engine.client()
    host = "lms.example.ac.jp"
    wanted = {f"lms_vol_data_{COURSE}_{host}", f"lms_sub_kadai9_{COURSE}_{host}"}
    try:
        result = moodle(
            runner,
            site,
            "params",
            "add-volume",
            4,
            "sub",
            "kadai9",
            "提出9",
            "--create-volumes",
            "--engine-url",
            docker_engine.url,
            "--wwwroot",
            WWWROOT,
        )
        assert result.exit_code == 0, result.output
        names = {v.name for v in client.volumes.list(filters={"label": f"{LABEL_COURSE}={COURSE}"})}
        assert wanted <= names, names
        assert f"volume lms_sub_kadai9_{COURSE}_{host}: created" in result.stderr
        assert "lms_sub_kadai9=提出9\n" in site.text(4)[0]
    finally:
        for name in wanted:
            with contextlib.suppress(docker.errors.NotFound):  # cleanup of what may not exist
                client.volumes.get(name).remove(force=True)
