"""``ipynb-tools volumes`` end to end against the private engines."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ipynb_tools.cli.main import cli

HOST = "el.mml.tuis.ac.jp"


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, ["volumes", *args], env=env, catch_exceptions=False)


def test_create_ls_inspect_rm(engine, course):
    base = ["--course", course, "--host", HOST, "--engine-url", engine.url]
    result = run("create", "abc", "vol_xyz", *base)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"created lms_vol_abc_{course}_{HOST}",
        f"created lms_sub_abc_{course}_{HOST}",
        f"created lms_vol_xyz_{course}_{HOST}",
    ]
    again = run("create", "abc", *base)
    assert again.stdout.splitlines()[0] == f"exists  lms_vol_abc_{course}_{HOST}"

    listed = run("ls", *base)
    assert listed.exit_code == 0
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:2] == ["KIND", "NAME"]
    assert [(line.split()[0], line.split()[1], line.split()[-1]) for line in lines[1:]] == [
        ("task", "abc", f"lms_vol_abc_{course}_{HOST}"),
        ("task", "xyz", f"lms_vol_xyz_{course}_{HOST}"),
        ("submit", "abc", f"lms_sub_abc_{course}_{HOST}"),
    ]  # task volumes first, then submit; NAME order within a kind
    data = json.loads(run("ls", "--json", *base).stdout)
    assert [(d["kind"], d["name"]) for d in data] == [("vol", "abc"), ("vol", "xyz"), ("sub", "abc")]
    assert all(d["labels"]["io.ipynb-tools.course"] == course and d["in_use"] is False for d in data)

    shown = run("inspect", "sub_abc", *base)
    assert f"full_name: lms_sub_abc_{course}_{HOST}" in shown.stdout
    assert "label io.ipynb-tools.kind: sub" in shown.stdout

    removed = run("rm", "abc", *base)
    assert removed.exit_code == 0
    assert removed.stdout.splitlines() == [
        f"removed lms_vol_abc_{course}_{HOST}",
        f"removed lms_sub_abc_{course}_{HOST}",
    ]
    assert [d["name"] for d in json.loads(run("ls", "--json", *base).stdout)] == ["xyz"]


def test_create_from_params_file(engine, course, tmp_path):
    params = tmp_path / "custom.txt"
    params.write_bytes("lms_vol_abc=課題\r\nlms_sub_abc=提出\r\nlms_prs_abc=-me\r\n".encode())
    base = ["--course", course, "--host", HOST, "--engine-url", engine.url]
    result = run("create", "--params", str(params), *base)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"created lms_vol_abc_{course}_{HOST}",
        f"created lms_sub_abc_{course}_{HOST}",
    ]
    assert "skipped lms_prs_abc" in result.stderr
    data = json.loads(run("ls", "--json", *base).stdout)
    assert sorted(d["full_name"] for d in data) == sorted(
        [f"lms_vol_abc_{course}_{HOST}", f"lms_sub_abc_{course}_{HOST}"]
    )


def test_engine_url_from_environment(docker_engine, course):
    env = {"DOCKER_HOST": docker_engine.url, "IPYNB_TOOLS_COURSE": course, "IPYNB_TOOLS_LMS_HOST": HOST}
    assert run("create", "vol_env", env=env).exit_code == 0
    assert json.loads(run("ls", "--json", env=env).stdout)[0]["name"] == "env"


def test_rm_in_use_names_the_container_and_exits_1(docker_engine, tiny_image, course):
    client = docker_engine.client()
    base = ["--course", course, "--host", HOST, "--engine-url", docker_engine.url]
    run("create", "sub_hw", *base)
    box = client.containers.run(
        tiny_image,
        ["sleep", "300"],
        detach=True,
        network_mode="none",
        name=f"jupyterhub-{course}-alice",
        volumes={f"lms_sub_hw_{course}_{HOST}": {"bind": "/s", "mode": "rw"}},
    )
    try:
        listed = run("ls", *base).stdout
        assert f"jupyterhub-{course}-alice (running)" in listed
        refused = run("rm", "sub_hw", *base)
        assert refused.exit_code == 1
        assert f"in use by jupyterhub-{course}-alice (running)" in refused.stderr
        assert refused.stderr.count("\n") == 1
        forced = run("rm", "--force", "sub_hw", *base)
        assert forced.exit_code == 0
        assert f"removed container jupyterhub-{course}-alice" in forced.stdout
    finally:
        with contextlib.suppress(Exception):  # best-effort cleanup
            client.containers.get(box.id).remove(force=True)


def test_unreachable_engine_exits_nonzero_one_line(tmp_path):
    exe = str(Path(sys.executable).with_name("ipynb-tools"))
    proc = subprocess.run(
        [exe, "volumes", "rm", "abc", "--course", "98", "--host", HOST, "--engine-url", f"unix://{tmp_path}/none.sock"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == (
        f"ipynb-tools volumes rm: error: cannot reach the container engine at unix://{tmp_path}/none.sock: "
        "no engine socket there (is the engine running?)\n"
    )


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["ls", "--course", "98", "--host", HOST, "--engine-url", "http//nope"], 2, "is not unix:///path"),
        (["ls", "--course", "bad course", "--host", HOST, "--engine-url", "unix:///x"], 1, "course id 'bad course'"),
        (["ls", "--course", "98", "--host", "h_x", "--engine-url", "unix:///x"], 1, "LMS host 'h_x'"),
        (["create", "Bad", "--course", "98", "--host", HOST, "--engine-url", "unix:///x"], 1, "lowercase"),
        (["create", "prs_me", "--course", "98", "--host", HOST, "--engine-url", "unix:///x"], 1, "personal"),
        (["create", "--course", "98", "--host", HOST, "--engine-url", "unix:///x"], 2, "name the volumes"),
    ],
)
def test_bad_input_is_one_line_before_any_engine_call(args, code, message):
    result = run(*args)
    assert result.exit_code == code
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
