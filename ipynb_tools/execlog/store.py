"""The execution-log store: one SQLAlchemy Core schema on SQLite (default, WAL, one file) or PostgreSQL.

Tables (the four of the old LMS side, SPEC 9, plus the launches the spawner records):

- ``client_records``: one row per ``execute_request`` (unique ``session`` + ``message``);
- ``server_records``: one row per ``execute_reply`` (unique ``session`` + ``message``);
- ``sessions``: kernel session -> LTI activity (``inst_id``, ``lti_id``) and course, user;
- ``launches``: each server start the spawner saw (user, course, LTI id, time); ``activities``
  keeps the course of each LTI id (the old proxy's records carry the LTI id but no course);
- ``meta``: ``schema_version``.

Dates are integers, UTC microseconds since the epoch (``date_us``; ``to_timestamp(date_us/1e6)``
in PostgreSQL, ``datetime(date_us/1e6, 'unixepoch')`` in SQLite). A record seen twice (same kind,
session and message) is stored once: inserts are ``ON CONFLICT DO NOTHING``. The cell numbering
of a client record without tags is found at query time from the latest numbered client record of
the same cell id (the old ``tags`` table), see :mod:`.query`.

Schema versions: :data:`SCHEMA_VERSION`; :func:`upgrade` creates a new store and applies each
step of :data:`MIGRATIONS` to an older one, in a transaction (docs/execlog.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    create_engine,
    event,
    select,
)
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ..errors import IpynbToolsError
from .records import CLIENT, SERVER, SESSION, ExecRecord, now_us

SCHEMA_VERSION = 1
#: Rows per INSERT batch (one executemany).
BATCH = 20_000
#: The environment variable naming the default database (a URL or a path).
DB_ENV = "IPYNB_TOOLS_EXECLOG_DB"
DEFAULT_DB = "execlog.sqlite"

metadata = MetaData()

meta = Table("meta", metadata, Column("key", String(64), primary_key=True), Column("value", Text, nullable=False))

client_records = Table(
    "client_records",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("session", String(200), nullable=False),
    Column("message", String(200), nullable=False),
    Column("date_us", BigInteger),
    Column("cell_id", String(200)),
    Column("tags", Text),
    Column("notebook", Text),
    Column("filename", String(1024)),
    Column("codenum", Integer),
    Column("source", Text),
    Column("username", String(200)),
    Column("received_us", BigInteger),
    UniqueConstraint("session", "message", name="uq_client_session_message"),
)
Index("ix_client_cell", client_records.c.cell_id, client_records.c.date_us)

server_records = Table(
    "server_records",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("session", String(200), nullable=False),
    Column("message", String(200), nullable=False),
    Column("date_us", BigInteger),
    Column("status", String(40), nullable=False),
    Column("ename", String(200)),
    Column("execution_count", Integer),
    Column("username", String(200)),
    Column("received_us", BigInteger),
    UniqueConstraint("session", "message", name="uq_server_session_message"),
)
Index("ix_server_date", server_records.c.date_us)
Index("ix_server_user", server_records.c.username, server_records.c.date_us)

sessions = Table(
    "sessions",
    metadata,
    Column("session", String(200), primary_key=True),
    Column("inst_id", String(200)),
    Column("lti_id", String(200)),
    Column("course", String(200)),
    Column("username", String(200)),
    Column("date_us", BigInteger),
)
Index("ix_sessions_lti", sessions.c.lti_id)
Index("ix_sessions_course", sessions.c.course)

launches = Table(
    "launches",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("username", String(200), nullable=False),
    Column("course", String(200)),
    Column("lti_id", String(200)),
    Column("inst_id", String(200)),
    Column("date_us", BigInteger, nullable=False),
)
Index("ix_launches_user", launches.c.username, launches.c.date_us)

activities = Table(
    "activities",
    metadata,
    Column("lti_id", String(200), primary_key=True),
    Column("course", String(200)),
    Column("inst_id", String(200)),
)

#: The columns ingest writes, in the order of its row tuples.
CLIENT_COLUMNS = (
    "session", "message", "date_us", "cell_id", "tags", "notebook", "filename", "codenum", "source", "username",
    "received_us",
)  # fmt: skip
SERVER_COLUMNS = ("session", "message", "date_us", "status", "ename", "execution_count", "username", "received_us")
SESSION_COLUMNS = ("session", "inst_id", "lti_id", "course", "username", "date_us")

#: from-version -> the function that upgrades a store of that version by one step.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {}


class StoreError(IpynbToolsError):
    """The database cannot be opened, is of a newer schema, or a statement failed."""


@dataclass(frozen=True)
class Launch:
    """A server start as the spawner saw it: who, which course and LTI activity, when (UTC µs)."""

    username: str
    course: str | None
    lti_id: str | None
    inst_id: str | None
    date_us: int


@dataclass(frozen=True)
class IngestResult:
    """How many records were given and how many were new (the rest were already stored)."""

    given: int
    stored: int

    @property
    def duplicates(self) -> int:
        return self.given - self.stored


def database_url(db: str | os.PathLike[str] | None) -> str:
    """A SQLAlchemy URL from ``db``: a URL as is (``postgresql://`` gets the psycopg driver), a path -> SQLite.

    ``None``: ``$IPYNB_TOOLS_EXECLOG_DB``, else ``execlog.sqlite`` in the current directory.
    """
    text = os.fspath(db) if db is not None else os.environ.get(DB_ENV) or DEFAULT_DB
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser().absolute()}"
    if text.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    return text


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ValueError, TypeError, ArgumentError):  # an unparseable URL: show it without anything after '@'
        return url.split("@")[-1]


class Store:
    """An open store. ``Store.open(db)`` creates or upgrades the schema; use as a context manager or ``close()``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._compiled: dict[tuple[str, tuple[str, ...]], str] = {}

    @classmethod
    def open(cls, db: str | os.PathLike[str] | None = None, *, create: bool = True) -> Store:
        """Open (and with ``create``, create or upgrade) the store at ``db`` (see :func:`database_url`).

        Raises :class:`StoreError` with the URL (password hidden) and the problem.
        """
        url = database_url(db)
        if not create and url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            if not path.is_file():
                raise StoreError(f"{path}: no execution-log store there (collect or import records first)")
        try:
            if url.startswith("sqlite"):
                engine = create_engine(url)
                event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = create_engine(url, pool_pre_ping=True)
            store = cls(engine)
            if create:
                upgrade(engine)
            elif store.version() == 0:
                raise StoreError(f"{_shown(url)}: not an execution-log store (no schema_version)")
        except SQLAlchemyError as exc:
            raise StoreError(f"{_shown(url)}: cannot open the execution-log store ({_first_line(exc)})") from None
        except ModuleNotFoundError as exc:
            raise StoreError(f"{_shown(url)}: the database driver {exc.name!r} is not installed") from None
        return store

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def version(self) -> int:
        """The schema version of the database."""
        with self.engine.connect() as conn:
            value = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
        return int(value) if value is not None else 0

    # -- writing ---------------------------------------------------------------------------
    def _insert_ignore(self, table: Table) -> Any:
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table).on_conflict_do_nothing()
        if self.dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(table).on_conflict_do_nothing()
        return table.insert().prefix_with("IGNORE")  # MySQL/MariaDB

    def ingest(
        self,
        records: Iterable[ExecRecord],
        *,
        as_user: str | None = None,
        received_us: int | None = None,
    ) -> IngestResult:
        """Store ``records`` (duplicates ignored); return how many were given and stored.

        ``as_user``: the records came from a JupyterHub user's server: that name replaces any
        ``username`` in them, their session records and course/LTI claims are ignored, and each
        new kernel session is bound to the course and LTI activity of the user's latest launch.
        Rows are written in batches of :data:`BATCH`, each batch in one transaction.
        Raises :class:`StoreError`.
        """
        received = received_us if received_us is not None else now_us()
        given = stored = 0
        try:
            for chunk in _chunks(records, BATCH):
                given += len(chunk)
                stored += self._ingest_chunk(chunk, as_user, received)
        except SQLAlchemyError as exc:
            raise StoreError(f"storing execution records failed ({_first_line(exc)})") from None
        return IngestResult(given, stored)

    def _ingest_chunk(self, chunk: list[ExecRecord], as_user: str | None, received: int) -> int:
        clients: list[tuple[Any, ...]] = []
        servers: list[tuple[Any, ...]] = []
        bound: dict[str, tuple[Any, ...]] = {}
        hub_path = as_user is not None
        for r in chunk:
            kind = r.kind
            user = as_user if hub_path else r.username
            if kind == SERVER:
                servers.append((r.session, r.message, r.date_us, r.status, r.ename, r.execution_count, user, received))
            elif kind == CLIENT:
                clients.append(
                    (r.session, r.message, r.date_us, r.cell_id, r.tags, r.notebook, r.filename, r.codenum, r.source,
                     user, received)
                )  # fmt: skip
            elif kind == SESSION and not hub_path:
                bound[r.session] = (r.session, r.inst_id, r.lti_id, r.course, r.username, r.date_us)
            if hub_path and r.session not in bound:
                bound[r.session] = (r.session, None, None, None, as_user, r.date_us)
        stored = 0
        with self.engine.begin() as conn:
            if hub_path and bound:
                launch = self._latest_launch(conn, as_user or "")
                if launch is not None:
                    bound = {
                        key: (row[0], launch.inst_id, launch.lti_id, launch.course, row[4], row[5])
                        for key, row in bound.items()
                    }
            if clients:
                stored += self._insert_rows(conn, client_records, CLIENT_COLUMNS, clients)
            if servers:
                stored += self._insert_rows(conn, server_records, SERVER_COLUMNS, servers)
            if bound:
                result = self._insert_rows(conn, sessions, SESSION_COLUMNS, list(bound.values()))
                if not hub_path:  # (the hub path's session rows are bookkeeping, not records it was given)
                    stored += result
        return stored

    def _insert_rows(
        self, conn: Connection, table: Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
    ) -> int:
        """Insert ``rows`` (tuples in ``columns`` order), skipping those already stored; return how many were new.

        SQLite: the compiled statement goes to the driver's ``executemany`` with the tuples as they are
        (no per-row dictionaries: ingest stays close to a bare ``executemany``, benchmarks/execlog_bench.py).
        """
        statement = self._insert_ignore(table)
        if self.dialect == "sqlite":
            key = (table.name, columns)
            sql = self._compiled.get(key)
            if sql is None:
                compiled = statement.values({c: bindparam(c) for c in columns}).compile(dialect=self.engine.dialect)
                order = compiled.positiontup or []
                if list(order) != list(columns):
                    raise StoreError(f"internal: column order of {table.name} differs ({order})")
                sql = self._compiled[key] = str(compiled)
            return int(conn.exec_driver_sql(sql, rows).rowcount)
        dicts = [dict(zip(columns, row, strict=True)) for row in rows]
        if self.dialect == "postgresql":  # psycopg's executemany gives no row count: count what RETURNING gives
            pk = table.primary_key.columns.values()[0]
            return len(conn.execute(statement.returning(pk), dicts).all())
        return int(conn.execute(statement, dicts).rowcount)

    def record_launch(self, launch: Launch) -> None:
        """Record a server start (the spawner calls this) and the course of its LTI activity."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    launches.insert(),
                    {
                        "username": launch.username,
                        "course": launch.course,
                        "lti_id": launch.lti_id,
                        "inst_id": launch.inst_id,
                        "date_us": launch.date_us,
                    },
                )
                if launch.lti_id:
                    found = conn.execute(
                        select(activities.c.lti_id).where(activities.c.lti_id == launch.lti_id)
                    ).first()
                    values = {"course": launch.course, "inst_id": launch.inst_id}
                    if found is None:
                        conn.execute(activities.insert(), {"lti_id": launch.lti_id, **values})
                    else:
                        conn.execute(activities.update().where(activities.c.lti_id == launch.lti_id).values(**values))
        except SQLAlchemyError as exc:
            raise StoreError(f"recording the launch of {launch.username} failed ({_first_line(exc)})") from None

    def latest_launch(self, username: str) -> Launch | None:
        """The user's most recent launch, or ``None``."""
        with self.engine.connect() as conn:
            return self._latest_launch(conn, username)

    @staticmethod
    def _latest_launch(conn: Connection, username: str) -> Launch | None:
        row = conn.execute(
            select(launches.c.username, launches.c.course, launches.c.lti_id, launches.c.inst_id, launches.c.date_us)
            .where(launches.c.username == username)
            .order_by(launches.c.date_us.desc(), launches.c.id.desc())
            .limit(1)
        ).first()
        return Launch(*row) if row is not None else None

    def delete_before(self, date_us: int) -> int:
        """Retention: delete client and server records dated before ``date_us``; return how many."""
        try:
            with self.engine.begin() as conn:
                n = conn.execute(server_records.delete().where(server_records.c.date_us < date_us)).rowcount
                n += conn.execute(client_records.delete().where(client_records.c.date_us < date_us)).rowcount
        except SQLAlchemyError as exc:
            raise StoreError(f"deleting old records failed ({_first_line(exc)})") from None
        return n


def upgrade(engine: Engine) -> int:
    """Create the schema, or bring an older one to :data:`SCHEMA_VERSION` step by step; return the version.

    Raises :class:`StoreError` for a database written by a newer ipynb-tools.
    """
    with engine.begin() as conn:
        metadata.create_all(conn, tables=[meta])
        value = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
        version = int(value) if value is not None else 0
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{_shown(str(engine.url))}: schema version {version} is newer than this ipynb-tools "
                f"({SCHEMA_VERSION}); upgrade ipynb-tools"
            )
        if version == 0:
            metadata.create_all(conn)
            conn.execute(meta.insert(), {"key": "schema_version", "value": str(SCHEMA_VERSION)})
            return SCHEMA_VERSION
        while version < SCHEMA_VERSION:
            MIGRATIONS[version](conn)
            version += 1
            conn.execute(meta.update().where(meta.c.key == "schema_version").values(value=str(version)))
    return version


def _chunks(items: Iterable[ExecRecord], size: int) -> Iterator[list[ExecRecord]]:
    chunk: list[ExecRecord] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
