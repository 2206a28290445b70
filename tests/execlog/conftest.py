"""Stores for the execution-log tests: SQLite in a temporary file, and PostgreSQL on a private server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipynb_tools.execlog.store import Store
from tests.hub.hubrun import HubStartError
from tests.lms.servers import DatabaseServer, ServerStartError, start_postgres
from tests.requirements import unavailable

from .hubservice import WSTOKEN, LightHub, start_light_hub


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[DatabaseServer]:
    """The project's private PostgreSQL server (tests/lms/servers.py); skipped locally, a failure in CI."""
    try:
        server = start_postgres()
    except (ServerStartError, OSError) as exc:
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
    return new_database(request.getfixturevalue("postgres_server"))


def new_database(server: DatabaseServer) -> str:
    """A fresh, empty database on the private PostgreSQL server; its URL (the ``moodle`` login)."""
    import sqlalchemy as sa

    name = "t_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name} OWNER moodle ENCODING 'UTF8' TEMPLATE template0")
    admin.dispose()
    return server.url(name)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store.open(db_url) as opened:
        yield opened


@pytest.fixture(scope="session")
def light_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LightHub]:
    """A real JupyterHub that runs the collector as a managed service (docs/execlog.md), on SQLite."""
    yield from _light_hub(tmp_path_factory.mktemp("lighthub"), None)


@pytest.fixture(scope="session")
def light_hub_postgres(tmp_path_factory: pytest.TempPathFactory, postgres_server: DatabaseServer) -> Iterator[LightHub]:
    """The same hub and service, the collector storing into the private PostgreSQL server."""
    yield from _light_hub(tmp_path_factory.mktemp("lighthub-pg"), new_database(postgres_server))


def _light_hub(workdir: Path, db: str | None) -> Iterator[LightHub]:
    try:
        running = start_light_hub(workdir, WSTOKEN, db=db)
    except HubStartError as exc:
        unavailable(str(exc))
    try:
        yield running
    finally:
        running.stop()
