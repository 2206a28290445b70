"""``tcp://`` engines with TLS: DOCKER_HOST + DOCKER_TLS_VERIFY + DOCKER_CERT_PATH, as the docker CLI.

The private dockerd also listens on a loopback TCP port with ``--tlsverify`` (client certificates
required), using a throw-away CA made by the fixture.
"""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from ipynb_tools.cli.main import cli
from ipynb_tools.volumes import course as vols
from ipynb_tools.volumes import engine as eng

HOST = "el.mml.tuis.ac.jp"


@pytest.fixture
def tls(docker_engine):
    if docker_engine.tls_url is None:
        pytest.fail("the private dockerd has no TLS listener (openssl missing?)")
    return docker_engine


def test_docker_host_with_tls_variables(tls, monkeypatch, course):
    monkeypatch.setenv("DOCKER_HOST", tls.tls_url)
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", str(tls.tls_dir))
    runner = CliRunner()
    base = ["--course", course, "--host", HOST]
    assert runner.invoke(cli, ["volumes", "create", "vol_tls", *base]).exit_code == 0
    assert [d["name"] for d in json.loads(runner.invoke(cli, ["volumes", "ls", "--json", *base]).stdout)] == ["tls"]
    # --engine-url with the TLS variables: the same engine
    with eng.connect(tls.tls_url) as e:
        assert e.client.api.base_url.startswith("https://127.0.0.1:")
        assert [v.name for v in vols.list_volumes(e, course, HOST)] == ["tls"]


def test_tls_without_client_certificate_is_refused(tls, monkeypatch, tmp_path):
    certs = tmp_path / "certs"
    certs.mkdir()
    shutil.copy(tls.tls_dir / "ca.pem", certs / "ca.pem")
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", str(certs))
    with pytest.raises(eng.EngineURLError, match="TLS settings"):
        eng.connect(tls.tls_url)  # cert.pem/key.pem missing: refused before any connection


def test_tls_with_wrong_ca_is_refused(tls, monkeypatch, tmp_path):
    from tests.engine.daemons import make_tls_certs

    other = make_tls_certs(tmp_path / "other")  # a client of another CA
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", str(other))
    with pytest.raises(eng.EngineError, match="TLS") as info:
        eng.connect(tls.tls_url)
    assert "\n" not in str(info.value)


def test_plain_http_to_tls_port_is_refused(tls, monkeypatch):
    monkeypatch.delenv("DOCKER_TLS_VERIFY", raising=False)
    monkeypatch.delenv("DOCKER_CERT_PATH", raising=False)
    with pytest.raises(eng.EngineError):
        eng.connect(tls.tls_url)
