"""``ssh://`` engines: the Docker SDK's own SSH transport through a real sshd on loopback.

The sshd (tests/engine/sshd.py) listens on 127.0.0.1:<free port> with generated keys; its login
sessions see ``DOCKER_HOST`` = the private dockerd, so the ``docker system dial-stdio`` the SDK
runs over SSH reaches the private engine, as it would reach a remote host's engine.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ipynb_tools.cli.main import cli
from ipynb_tools.volumes import course as vols
from ipynb_tools.volumes import engine as eng

HOST = "el.mml.tuis.ac.jp"


@pytest.fixture
def paramiko_home(local_sshd, monkeypatch):
    """$HOME with .ssh/config (port, key) and known_hosts: what the SDK's paramiko transport reads."""
    monkeypatch.setenv("HOME", str(local_sshd.client_home()))
    return local_sshd


@pytest.fixture
def ssh_client_path(local_sshd, monkeypatch):
    """An ``ssh`` first on PATH that uses the test's ssh_config (for use_ssh_client=True)."""
    import os

    monkeypatch.setenv("PATH", f"{local_sshd.ssh_wrapper_dir()}{os.pathsep}{os.environ['PATH']}")
    return local_sshd


def test_ssh_paramiko_create_list_remove(paramiko_home, docker_engine, course):
    url = paramiko_home.url
    with eng.connect(url) as e:
        assert e.client.api.base_url.startswith("http+docker://ssh")
        vols.create_volume(e, "vol", "remote", course, HOST)
        assert [v.name for v in vols.list_volumes(e, course, HOST)] == ["remote"]
    # the volume is really on the private engine behind the sshd
    assert docker_engine.client().volumes.get(f"lms_vol_remote_{course}_{HOST}")
    with eng.connect(url) as e:
        vols.remove_volumes(e, ["vol_remote"], course, HOST)
        assert vols.list_volumes(e, course, HOST) == []


def test_ssh_client_cli(ssh_client_path, docker_engine, course):
    base = ["--course", course, "--host", HOST, "--engine-url", ssh_client_path.url, "--ssh-client"]
    runner = CliRunner()
    created = runner.invoke(cli, ["volumes", "create", "sub_remote", *base])
    assert created.exit_code == 0, created.output
    listed = json.loads(runner.invoke(cli, ["volumes", "ls", "--json", *base]).stdout)
    assert [d["full_name"] for d in listed] == [f"lms_sub_remote_{course}_{HOST}"]
    assert docker_engine.client().volumes.get(f"lms_sub_remote_{course}_{HOST}")
    assert runner.invoke(cli, ["volumes", "rm", "remote", *base]).exit_code == 0


def test_ssh_unknown_host_key_is_refused(local_sshd, monkeypatch, tmp_path, course):
    """Without the server's key in known_hosts the SDK (RejectPolicy) refuses: nothing is created."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text(
        f"Host 127.0.0.1\n  Port {local_sshd.port}\n  IdentityFile {local_sshd.user_key}\n"
    )
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(eng.EngineError, match="SSH host key not in known_hosts"):
        eng.connect(local_sshd.url)


def test_ssh_wrong_key_is_refused(local_sshd, monkeypatch, tmp_path):
    import subprocess

    home = local_sshd.client_home()
    other_key = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other_key)], check=True)
    config = (home / ".ssh" / "config").read_text().replace(str(local_sshd.user_key), str(other_key))
    fake_home = tmp_path / "home"
    (fake_home / ".ssh").mkdir(parents=True)
    (fake_home / ".ssh" / "config").write_text(config)
    (fake_home / ".ssh" / "known_hosts").write_text((home / ".ssh" / "known_hosts").read_text())
    monkeypatch.setenv("HOME", str(fake_home))
    with pytest.raises(eng.EngineError, match="SSH authentication failed"):
        eng.connect(local_sshd.url)
