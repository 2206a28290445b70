"""The engine fixtures themselves: engines answer, test images run, nothing needs a registry."""

from __future__ import annotations

import pytest


def test_private_dockerd_is_isolated(docker_engine):
    client = docker_engine.client()
    info = client.info()
    assert docker_engine.url.startswith("unix:///")
    assert info["DockerRootDir"].startswith(str(docker_engine.base))
    assert client.ping()


def test_tiny_image_runs_without_network(docker_engine, tiny_image):
    client = docker_engine.client()
    out = client.containers.run(tiny_image, ["sh", "-c", "echo ok; sleep 0"], network_mode="none", remove=True)
    assert out.strip() == b"ok"


@pytest.mark.slow
def test_debian_image_has_python_and_useradd(docker_engine, debian_image):
    client = docker_engine.client()
    out = client.containers.run(
        debian_image,
        ["sh", "-c", "useradd -m alice && su alice -c 'python3 -c \"import getpass; print(getpass.getuser())\"'"],
        network_mode="none",
        remove=True,
    )
    assert out.strip() == b"alice"


def test_podman_service_speaks_the_docker_api(podman_engine):
    client = podman_engine.client()
    assert client.ping()
    volume = client.volumes.create("ipt-fixture-probe", labels={"a": "b"})
    try:
        assert client.volumes.list(filters={"label": "a=b"})[0].name == "ipt-fixture-probe"
    finally:
        volume.remove()
