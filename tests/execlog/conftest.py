"""Stores for the execution-log tests: SQLite in a temporary file, and PostgreSQL on a private server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from ipynb_tools.execlog.store import Store
from tests.hub.hubrun import HubStartError
from tests.requirements import unavailable

from .hubservice import WSTOKEN, LightHub, start_light_hub
from .pgserver import PostgresServer, PostgresUnavailable, start_postgres


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A private PostgreSQL server; skipped locally when it cannot start, a failure in CI."""
    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        unavailable(f"PostgreSQL cannot start: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A fresh, empty database URL on each engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'execlog.sqlite'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database("t_" + uuid.uuid4().hex[:12])


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store.open(db_url) as opened:
        yield opened


@pytest.fixture(scope="session")
def light_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LightHub]:
    """A real JupyterHub that runs the collector as a managed service (docs/execlog.md)."""
    try:
        running = start_light_hub(tmp_path_factory.mktemp("lighthub"), WSTOKEN)
    except HubStartError as exc:
        unavailable(str(exc))
    try:
        yield running
    finally:
        running.stop()
