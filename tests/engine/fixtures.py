"""Pytest plugin: private engines, test images and a loopback sshd (registered in tests/conftest.py).

Session-scoped, started lazily on first use, stopped at the end of the session even when tests
fail. When an engine cannot start, tests that need it are skipped with the reason, except when
``CI`` is set: then they fail loudly (nothing may skip in CI; ``tests/requirements.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.requirements import unavailable

from . import images
from .daemons import EngineStartError, PrivateEngine, start_dockerd, start_podman
from .sshd import LocalSshd, SshdStartError, start_sshd
from .swarm import Swarm, start_swarm


def _start(starter: Callable[[], PrivateEngine], what: str) -> PrivateEngine:
    try:
        return starter()
    except EngineStartError as exc:
        unavailable(f"cannot start the private {what}: {exc}")


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[PrivateEngine]:
    """The session's private dockerd: ``.url`` (``unix:///tmp/ipt-dockerd.*/docker.sock``), ``.client()``."""
    engine = _start(start_dockerd, "Docker engine (dockerd)")
    try:
        yield engine
    finally:
        engine.stop()


@pytest.fixture(scope="session")
def docker_swarm() -> Iterator[Swarm]:
    """A two-node swarm of private dockerds on loopback addresses (tests/engine/swarm.py); ``.manager``,
    ``.workers``, ``.node_ids``, ``.engine_of(node id)``, ``.share_image(tag)``. Stopped at session end."""
    try:
        swarm = start_swarm(2)
    except EngineStartError as exc:
        unavailable(f"cannot start a two-node Docker swarm: {exc}")
    try:
        yield swarm
    finally:
        swarm.stop()


@pytest.fixture(scope="session")
def podman_engine() -> Iterator[PrivateEngine]:
    """The session's private ``podman system service`` (Docker-compatible API) on its own socket."""
    engine = _start(start_podman, "Podman service")
    try:
        yield engine
    finally:
        engine.stop()


@pytest.fixture(scope="session", params=["docker", "podman"])
def engine(request: pytest.FixtureRequest) -> PrivateEngine:
    """Parametrized over both engines: a test using it runs once against Docker, once against Podman."""
    return request.getfixturevalue(f"{request.param}_engine")


def _image(engine: PrivateEngine, build: Callable[[Any], str]) -> str:
    client = engine.client()
    try:
        return build(client)
    except images.ImageBuildError as exc:
        unavailable(str(exc))
        raise


@pytest.fixture(scope="session")
def debian_image(docker_engine: PrivateEngine) -> str:
    """``ipynb-tools-test:bookworm`` in the private dockerd (debootstrap once, cached tarball after)."""
    return _image(docker_engine, images.debian_image)


@pytest.fixture(scope="session")
def tiny_image(docker_engine: PrivateEngine) -> str:
    """``ipynb-tools-test:busybox`` in the private dockerd: sh + sleep, imported in a moment."""
    return _image(docker_engine, images.tiny_image)


@pytest.fixture(scope="session")
def image_for() -> Callable[[PrivateEngine, str], str]:
    """``image_for(engine, "debian" | "tiny")``: the test image in any engine (e.g. the Podman one)."""

    def build(engine: PrivateEngine, which: str = "tiny") -> str:
        return _image(engine, {"debian": images.debian_image, "tiny": images.tiny_image}[which])

    return build


@pytest.fixture(scope="session")
def local_sshd(docker_engine: PrivateEngine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSshd]:
    """sshd on 127.0.0.1:<free port> whose sessions have ``DOCKER_HOST`` = the private dockerd."""
    try:
        server = start_sshd(tmp_path_factory.mktemp("sshd"), docker_engine.url)
    except SshdStartError as exc:
        unavailable(str(exc))
        raise
    try:
        yield server
    finally:
        server.stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that uses an engine fixture gets the ``engine`` marker (so ``-m 'not engine'`` works)."""
    engine_fixtures = {
        "docker_engine",
        "podman_engine",
        "engine",
        "debian_image",
        "tiny_image",
        "local_sshd",
        "docker_swarm",
    }
    for item in items:
        if engine_fixtures & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.engine)
