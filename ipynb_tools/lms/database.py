"""The connection to a Moodle database and the tables the adapter reads (SPEC 10), through SQLAlchemy.

PostgreSQL goes through psycopg (3), MariaDB/MySQL through PyMySQL (``charset=utf8mb4``). A database
is given either by a site's ``config.php`` (:func:`database_url`) or by an SQLAlchemy URL
(``postgresql://...``, ``mysql+pymysql://...``; the driver is filled in). The tables are declared here
with only the columns the adapter uses, named with the site's prefix; :func:`open_database` checks
that they exist (a wrong prefix is one clear line) and :meth:`MoodleDatabase.params_column` reads the
real type of ``instructorcustomparameters`` from the database.

The password never leaves this module in text: :attr:`MoodleDatabase.site` and every error render
the URL with ``***`` in its place, and driver messages are scrubbed of it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url

from ..params.storage import StorageLimit, stored_length
from .config import DEFAULT_MYSQL_SOCKET, MYSQL_TYPES, POSTGRES_TYPES, MoodleConfig
from .errors import ConcurrentEdit, DatabaseError

#: The tables the adapter touches, without the prefix (SPEC 10).
TABLE_NAMES: tuple[str, ...] = (
    "course",
    "course_sections",
    "course_modules",
    "modules",
    "lti",
    "lti_types",
    "lti_types_config",
)
PARAMS_COLUMN = "instructorcustomparameters"
#: Bytes in a MySQL/MariaDB TEXT column (its limit is in bytes, not characters).
MYSQL_TEXT_BYTES = 65535
CONNECT_TIMEOUT = 10
#: Seconds a write waits for a row another session has locked (Moodle saving the same activity).
LOCK_TIMEOUT = 10

_PREFIX_RE = re.compile(r"[A-Za-z0-9_]{0,30}")


@dataclass(frozen=True)
class MoodleTables:
    """The SQLAlchemy tables of one prefix (only the columns the adapter uses)."""

    metadata: sa.MetaData
    course: sa.Table
    course_sections: sa.Table
    course_modules: sa.Table
    modules: sa.Table
    lti: sa.Table
    lti_types: sa.Table
    lti_types_config: sa.Table


def moodle_tables(prefix: str) -> MoodleTables:
    """The tables named ``<prefix><name>`` with Moodle's column types (ids are BIGINT, flags SMALLINT)."""
    md = sa.MetaData()
    big, small, text = sa.BigInteger, sa.SmallInteger, sa.Text

    def table(name: str, *columns: sa.Column[Any]) -> sa.Table:
        return sa.Table(prefix + name, md, sa.Column("id", big, primary_key=True), *columns)

    return MoodleTables(
        metadata=md,
        course=table("course", sa.Column("fullname", sa.String(254)), sa.Column("shortname", sa.String(255))),
        course_sections=table(
            "course_sections",
            sa.Column("course", big),
            sa.Column("section", big),
            sa.Column("name", sa.String(255)),
            sa.Column("sequence", text),
            sa.Column("visible", small),
        ),
        course_modules=table(
            "course_modules",
            sa.Column("course", big),
            sa.Column("module", big),
            sa.Column("instance", big),
            sa.Column("section", big),
            sa.Column("visible", small),
            sa.Column("deletioninprogress", small),
        ),
        modules=table("modules", sa.Column("name", sa.String(20))),
        lti=table(
            "lti",
            sa.Column("course", big),
            sa.Column("name", sa.String(255)),
            sa.Column("typeid", big),
            sa.Column("toolurl", text),
            sa.Column(PARAMS_COLUMN, text),
            sa.Column("launchcontainer", small),
            sa.Column("timecreated", big),
            sa.Column("timemodified", big),
        ),
        lti_types=table(
            "lti_types",
            sa.Column("name", sa.String(255)),
            sa.Column("baseurl", text),
            sa.Column("tooldomain", sa.String(255)),
            sa.Column("state", small),
            sa.Column("course", big),
        ),
        lti_types_config=table(
            "lti_types_config", sa.Column("typeid", big), sa.Column("name", sa.String(100)), sa.Column("value", text)
        ),
    )


@dataclass(frozen=True)
class ColumnLimit:
    """What ``<prefix>lti.instructorcustomparameters`` holds: ``chars`` characters (varchar(n)), or
    ``bytes`` bytes of UTF-8 (a MySQL TEXT), or anything (None, None: PostgreSQL text).

    Texts are counted by the params library's one rule (:mod:`ipynb_tools.params.storage`: as Moodle
    stores them, every line end CRLF, so a text that fits also survives a save in Moodle's own form).
    """

    type_name: str
    chars: int | None = None
    bytes: int | None = None

    @property
    def capacity(self) -> int | None:
        """The column's size in its unit (None: no practical limit)."""
        return self.chars if self.chars is not None else self.bytes

    @property
    def unit(self) -> str:
        """``characters`` or ``bytes``."""
        return "bytes" if self.chars is None and self.bytes is not None else "characters"

    def storage(self) -> StorageLimit | None:
        """The params library's limit for this column, counting the automatic keys a text holds (None:
        no limit)."""
        capacity = self.capacity
        return None if capacity is None else StorageLimit(capacity, self.unit, {}, typical=False)

    def size_of(self, text: str) -> int:
        """How much of the column ``text`` uses once stored, in the column's unit."""
        return stored_length(text, typical=False, unit=self.unit).size

    def left(self, text: str) -> int | None:
        """Units left after ``text`` (negative: over), None when the column has no limit."""
        capacity = self.capacity
        return None if capacity is None else capacity - self.size_of(text)


@dataclass
class MoodleDatabase:
    """An open Moodle database: ``engine`` (SQLAlchemy), ``prefix``, ``tables``, and ``site``, the
    URL without its password (for messages). ``wwwroot`` comes from config.php (or is given)."""

    engine: Engine
    prefix: str
    tables: MoodleTables
    site: str
    wwwroot: str | None = None
    password: str | None = None
    #: Seconds a write waits for a row someone else has locked (:data:`LOCK_TIMEOUT`).
    lock_timeout: int = LOCK_TIMEOUT

    @property
    def dialect(self) -> str:
        """``postgresql`` or ``mysql`` (MariaDB is ``mysql`` to SQLAlchemy)."""
        return str(self.engine.dialect.name)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def errors(self, what: str) -> Iterator[None]:
        """Turn driver and SQLAlchemy errors into one-line :class:`DatabaseError` naming ``site``."""
        try:
            yield
        except sa.exc.SQLAlchemyError as exc:
            if _lock_timeout(exc):
                raise ConcurrentEdit(
                    f"{self.site}: {what}: someone else is saving the same record (locked for over "
                    f"{self.lock_timeout} s); nothing was written: try again"
                ) from None
            raise DatabaseError(f"{self.site}: {what}: {driver_message(exc, self.password)}") from None

    @contextlib.contextmanager
    def connect(self, what: str = "reading") -> Iterator[Connection]:
        """A connection (read only by convention), errors turned into DatabaseError."""
        with self.errors(what), self.engine.connect() as conn:
            yield conn

    @contextlib.contextmanager
    def transaction(self, what: str = "writing") -> Iterator[Connection]:
        """One transaction with a bounded wait for row locks; committed on success, rolled back on any error."""
        with self.errors(what), self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.text(f"SET LOCAL lock_timeout = '{int(self.lock_timeout)}s'"))
            elif self.dialect == "mysql":
                conn.execute(sa.text(f"SET SESSION innodb_lock_wait_timeout = {int(self.lock_timeout)}"))
            yield conn

    def params_column(self, conn: Connection) -> ColumnLimit:
        """The real type of ``<prefix>lti.instructorcustomparameters`` (reflected from the database)."""
        table = self.tables.lti.name
        columns = sa.inspect(conn).get_columns(table)
        for column in columns:
            if column["name"].lower() == PARAMS_COLUMN:
                kind = column["type"]
                length = getattr(kind, "length", None)
                name = str(kind.compile(dialect=self.engine.dialect)) if length else type(kind).__name__
                if isinstance(length, int) and length > 0:
                    return ColumnLimit(name, chars=length)
                if self.dialect == "mysql":
                    limits = {"TINYTEXT": 255, "TEXT": MYSQL_TEXT_BYTES, "MEDIUMTEXT": 2**24 - 1, "LONGTEXT": 2**32 - 1}
                    return ColumnLimit(name, bytes=limits.get(type(kind).__name__.upper(), MYSQL_TEXT_BYTES))
                return ColumnLimit(name)
        raise DatabaseError(f"{self.site}: table {table} has no column {PARAMS_COLUMN}")


def _lock_timeout(exc: BaseException) -> bool:
    """True for "waited too long for a row lock": PostgreSQL's SQLSTATE 55P03, MySQL/MariaDB's 1205."""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) == "55P03":
        return True
    args = tuple(getattr(orig, "args", ()))
    return bool(args) and args[0] == 1205


def driver_message(exc: BaseException, password: str | None = None) -> str:
    """The driver's own message (first line, no SQL, no parameters), without ``password``."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    message = lines[0] if lines else type(exc).__name__
    args: tuple[Any, ...] = tuple(getattr(orig, "args", ()))
    if len(args) == 2 and isinstance(args[0], int):  # PyMySQL: (code, message)
        message = f"{args[1]} (error {args[0]})"
    message = re.sub(r"\s*\(Background on this error at:.*\)$", "", message)
    if password:
        from urllib.parse import quote, quote_plus

        for form in {password, quote(password, safe=""), quote_plus(password)}:
            message = message.replace(form, "***")
    return message


def check_prefix(prefix: str) -> str:
    """A table prefix is letters, digits and ``_`` (Moodle's installer allows no more); ValueError-free:
    :class:`DatabaseError` naming it otherwise."""
    if not isinstance(prefix, str) or not _PREFIX_RE.fullmatch(prefix):
        raise DatabaseError(f"table prefix {prefix!r} must be letters, digits and '_' only (like 'mdl_')")
    return prefix


def database_url(config: MoodleConfig) -> URL:
    """The SQLAlchemy URL of a config.php's database, connecting the way Moodle's driver does.

    PostgreSQL: ``dbsocket`` is used when ``dbhost`` is ``localhost``/``127.0.0.1`` (a path is the
    socket directory; ``1``/true means libpq's default), else TCP to ``dbhost`` and ``dbport``.
    MariaDB/MySQL: ``dbhost`` ``localhost`` means the socket (``dbsocket``, else Debian's
    ``/run/mysqld/mysqld.sock``), as PHP's mysqli does; another host is TCP with ``dbport``.
    """
    port = config.port
    socket = config.socket
    host: str | None = config.dbhost or None
    query: dict[str, str] = {}
    if config.dbtype in POSTGRES_TYPES:
        driver = "postgresql+psycopg"
        if socket and host in (None, "localhost", "127.0.0.1"):
            host = None
            if "/" in socket:
                query["host"] = socket
        query["connect_timeout"] = str(CONNECT_TIMEOUT)
    elif config.dbtype in MYSQL_TYPES:
        driver = "mysql+pymysql"
        if host in (None, "localhost"):
            query["unix_socket"] = socket or DEFAULT_MYSQL_SOCKET
            host = "localhost"
        query["charset"] = "utf8mb4"
        query["connect_timeout"] = str(CONNECT_TIMEOUT)
    else:  # read_moodle_config refuses these already
        raise DatabaseError(f"{config.path}: database type {config.dbtype!r} is not supported")
    return URL.create(
        driver,
        username=config.dbuser or None,
        password=config.dbpass or None,
        host=host,
        port=port,
        database=config.dbname,
        query=query,
    )


def parse_database_url(text: str, password: str | None = None) -> URL:
    """An SQLAlchemy URL given on the command line: ``postgresql://`` and ``mysql://`` get the psycopg
    and PyMySQL drivers, MySQL gets ``charset=utf8mb4``; ``password`` (e.g. from the environment) fills
    a URL that has none. DatabaseError, without the password, when it cannot be used."""
    try:
        url = make_url(text)
    except (sa.exc.ArgumentError, ValueError):
        shown = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", text)
        raise DatabaseError(f"{shown!r} is not a database URL (like postgresql://user@host/moodle)") from None
    backend = url.get_backend_name()
    if backend == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
        if "connect_timeout" not in url.query:
            url = url.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT)})
    elif backend in ("mysql", "mariadb"):
        url = url.set(drivername="mysql+pymysql")
        extra = {
            k: v for k, v in (("charset", "utf8mb4"), ("connect_timeout", str(CONNECT_TIMEOUT))) if k not in url.query
        }
        url = url.update_query_dict(extra)
    else:
        raise DatabaseError(
            f"{url.render_as_string(hide_password=True)}: only PostgreSQL and MariaDB/MySQL databases are supported"
        )
    if password and not url.password:
        url = url.set(password=password)
    return url


def open_database(
    url: URL | str, prefix: str = "mdl_", *, wwwroot: str | None = None, check_tables: bool = True
) -> MoodleDatabase:
    """Connect to a Moodle database and (unless ``check_tables`` is false) check that the tables of
    :data:`TABLE_NAMES` exist under ``prefix``. DatabaseError (one line, no password) otherwise:
    unreachable server, refused login, unknown database, missing tables."""
    check_prefix(prefix)
    if isinstance(url, str):
        url = parse_database_url(url)
    site = url.render_as_string(hide_password=True)
    password = url.password if isinstance(url.password, str) else None
    try:
        engine = sa.create_engine(url, pool_pre_ping=False, hide_parameters=True)
    except ImportError as exc:
        raise DatabaseError(
            f"{site}: the database driver is not installed ({exc}); pip install 'ipynb-tools[lms]'"
        ) from None
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseError(f"{site}: cannot use this database: {driver_message(exc, password)}") from None
    if engine.dialect.name == "postgresql":
        # Moodle's driver writes table names unquoted, which PostgreSQL folds to lower case: a prefix
        # 'MDL_' names the tables mdl_*. (MySQL/MariaDB keep the case the server keeps.)
        prefix = prefix.lower()
    db = MoodleDatabase(engine, prefix, moodle_tables(prefix), site, wwwroot, password)
    if check_tables:
        try:
            with db.connect("cannot connect") as conn:
                present = set(sa.inspect(conn).get_table_names())
                # MySQL/MariaDB compare table names without case only with lower_case_table_names set
                # (Windows, macOS); PostgreSQL's names are the folded ones (the prefix is folded too).
                if db.dialect == "mysql" and conn.exec_driver_sql("SELECT @@lower_case_table_names").scalar():
                    present = {name.lower() for name in present}
                    prefix_seen = prefix.lower()
                else:
                    prefix_seen = prefix
        except DatabaseError:
            db.close()
            raise
        missing = [prefix + name for name in TABLE_NAMES if prefix_seen + name not in present]
        if missing:
            db.close()
            hint = f" (is the table prefix {prefix!r} right?)" if len(missing) == len(TABLE_NAMES) else ""
            raise DatabaseError(f"{site}: missing table(s) {', '.join(missing)}{hint}")
    return db


def open_moodle(
    *,
    moodle_config: str | None = None,
    db: str | None = None,
    prefix: str | None = None,
    wwwroot: str | None = None,
    password: str | None = None,
) -> MoodleDatabase:
    """Open the Moodle database from a site's ``config.php`` or from an SQLAlchemy URL (exactly one).

    ``prefix`` and ``wwwroot`` given here win over config.php's; with a URL the prefix defaults to
    ``mdl_``. ``password`` fills a URL without one (the command line takes it from the environment,
    so it is not visible in the process list). Raises MoodleConfigError, DatabaseError, UsageError.
    """
    from ..errors import UsageError
    from .config import read_moodle_config

    if (moodle_config is None) == (db is None):
        raise UsageError("give the Moodle database as --moodle-config PATH (the site's config.php) or --db URL")
    if moodle_config is not None:
        config = read_moodle_config(moodle_config)
        return open_database(database_url(config), prefix or config.prefix, wwwroot=wwwroot or config.wwwroot)
    assert db is not None
    return open_database(parse_database_url(db, password), prefix or "mdl_", wwwroot=wwwroot)
