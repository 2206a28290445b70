"""Fixtures: the private PostgreSQL and MariaDB servers (session) and freshly seeded Moodle tables per
test under their own prefix (:class:`MoodleSite`), parametrized so every test using ``site`` runs on
both servers."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from tests.requirements import unavailable

from . import schema
from .servers import STARTERS, DatabaseServer, ServerStartError

#: Prefix stems: PostgreSQL's first site has Moodle's default ``mdl_``, MariaDB's never (SPEC 10).
PREFIXES = {"postgresql": "mdl_", "mariadb": "m2_"}
_counter = itertools.count(1)


def _server(kind: str) -> Iterator[DatabaseServer]:
    try:
        server = STARTERS[kind]()
    except (ServerStartError, OSError) as exc:
        unavailable(f"cannot start the private {kind} server: {exc}")
        raise
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[DatabaseServer]:
    yield from _server("postgresql")


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[DatabaseServer]:
    yield from _server("mariadb")


@pytest.fixture(params=["postgresql", "mariadb"])
def db_server(request: pytest.FixtureRequest) -> DatabaseServer:
    """Each server in turn."""
    return request.getfixturevalue(f"{request.param.replace('postgresql', 'postgres')}_server")


@dataclass
class MoodleSite:
    """Seeded Moodle tables under ``prefix`` in ``database`` on ``server``."""

    server: DatabaseServer
    database: str
    prefix: str

    @property
    def kind(self) -> str:
        return self.server.kind

    @property
    def url(self) -> str:
        """The ``moodle`` login's URL (with its password) to this database."""
        return self.server.url(self.database)

    def engine(self):
        import sqlalchemy as sa

        engine = sa.create_engine(self.url)
        self._engines.append(engine)
        return engine

    def text(self, lti_id: int) -> tuple[str | None, int]:
        """(instructorcustomparameters, timemodified) of an LTI activity, read directly."""
        import sqlalchemy as sa

        with self.engine().connect() as conn:
            row = conn.execute(
                sa.text(f"SELECT instructorcustomparameters, timemodified FROM {self.prefix}lti WHERE id = :id"),
                {"id": lti_id},
            ).one()
        return row[0], int(row[1])

    def execute(self, sql: str, **params: object) -> None:
        import sqlalchemy as sa

        with self.engine().begin() as conn:
            conn.execute(sa.text(sql.replace("{p}", self.prefix)), params)

    def close(self) -> None:
        for engine in self._engines:
            engine.dispose()

    def __post_init__(self) -> None:
        self._engines: list = []


def _database(server: DatabaseServer) -> str:
    """The one database of ``server`` the tests use (created once; each site is a table prefix in it)."""
    import sqlalchemy as sa

    name = "moodle"
    if getattr(server, "_moodle_db", None) is None:
        admin = sa.create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if server.kind == "postgresql":
                conn.exec_driver_sql(f"CREATE DATABASE {name} OWNER moodle ENCODING 'UTF8' TEMPLATE template0")
            else:
                conn.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        admin.dispose()
        server._moodle_db = name  # type: ignore[attr-defined]
    return name


def _make_site(server: DatabaseServer, params_type: str) -> MoodleSite:
    """A new set of Moodle tables in the server's database: PostgreSQL's first one has Moodle's default
    prefix ``mdl_``, every other one its own (``mdl7_``, ``m2_``...): each test starts from the seed."""
    number = next(_counter)
    base = PREFIXES[server.kind]
    prefix = base if number == 1 and server.kind == "postgresql" else f"{base[:-1]}{number}_"
    site = MoodleSite(server, _database(server), prefix)
    with site.engine().begin() as conn:
        schema.create_site(conn, site.prefix, server.kind, params_type)
    return site


@pytest.fixture
def make_site(db_server: DatabaseServer) -> Iterator[Callable[..., MoodleSite]]:
    """``make_site(params_type="VARCHAR(255)")``: a new seeded database on the current server."""
    made: list[MoodleSite] = []

    def make(params_type: str = "VARCHAR(255)") -> MoodleSite:
        site = _make_site(db_server, params_type)
        made.append(site)
        return site

    yield make
    for site in made:
        site.close()


@pytest.fixture
def site(make_site: Callable[..., MoodleSite]) -> MoodleSite:
    """A seeded Moodle database with Moodle's varchar(255) column, on each server in turn."""
    return make_site()
