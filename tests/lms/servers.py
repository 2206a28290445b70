"""Private PostgreSQL and MariaDB servers for the Moodle adapter's tests (Debian's ``postgresql`` and
``mariadb-server`` binaries; the packages' own services are never used).

Each server lives under its own short temporary directory (data, unix socket, log), listens on
127.0.0.1 on a free port and on its socket, runs as the packages' service user when the tests run
as root (``postgres``/``mysql``: neither server runs as root), and is stopped and removed by
:meth:`DatabaseServer.stop`. Both have a login ``moodle`` with a password (TCP) besides the
administrator (``postgres`` / MariaDB ``root``, over the socket). MariaDB runs with an empty
``sql_mode``: not strict, so an over-long value is cut silently -- the case the adapter must catch.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

#: The test login's password: URL-unsafe characters on purpose, and easy to find in any output.
PASSWORD = "Pa$$w:rd/with@odd#chars-7f3q"
USER = "moodle"


class ServerStartError(RuntimeError):
    """A server could not be started; the message carries the tail of its log."""


@dataclass
class DatabaseServer:
    """A running private server. ``kind`` is ``postgresql`` or ``mariadb``; ``admin_url`` is an
    SQLAlchemy URL for the administrator over the socket; ``url(db)`` is the ``moodle`` login's."""

    kind: str
    base: Path
    port: int
    socket_path: str
    process: subprocess.Popen[bytes]
    log: Path

    def url(self, database: str, *, password: str | None = PASSWORD) -> str:
        from sqlalchemy.engine import URL

        driver = "postgresql+psycopg" if self.kind == "postgresql" else "mysql+pymysql"
        query = {"charset": "utf8mb4"} if self.kind == "mariadb" else {}
        return URL.create(
            driver, username=USER, password=password, host="127.0.0.1", port=self.port, database=database, query=query
        ).render_as_string(hide_password=False)

    @property
    def admin_url(self) -> str:
        if self.kind == "postgresql":
            return f"postgresql+psycopg://postgres@/postgres?host={self.base}&port={self.port}"
        return f"mysql+pymysql://root@localhost/mysql?unix_socket={self.socket_path}&charset=utf8mb4"

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process.poll() is None:
            # Throw-away data: no need to wait for a clean InnoDB shutdown.
            self.process.send_signal(signal.SIGTERM if self.kind == "postgresql" else signal.SIGKILL)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.base, ignore_errors=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_user(name: str) -> tuple[int | None, int | None]:
    """(uid, gid) of the service user ``name`` to run the server as when root; (None, None) otherwise."""
    if os.geteuid() != 0:
        return None, None
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise ServerStartError(f"running as root but there is no {name!r} user to run the server as") from None
    return entry.pw_uid, entry.pw_gid


def _base(prefix: str, uid: int | None, gid: int | None) -> Path:
    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    if uid is not None and gid is not None:
        os.chown(base, uid, gid)
    base.chmod(0o700)
    return base


def _run(cmd: list[str], log: Path, what: str, uid: int | None = None, gid: int | None = None) -> None:
    with open(log, "ab") as out:
        result = subprocess.run(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=300,
            check=False,
            user=uid,
            group=gid,
            extra_groups=[] if uid is not None else None,
            cwd="/",
        )
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise ServerStartError(f"{what} failed ({result.returncode}):\n{tail}")


def _wait(server: DatabaseServer, ready: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            server.stop()
            raise ServerStartError(f"the {server.kind} server exited:\n{server.log_tail()}")
        if os.path.exists(ready):
            try:
                with socket.create_connection(("127.0.0.1", server.port), timeout=1):
                    return
            except OSError:
                pass
        time.sleep(0.1)
    server.stop()
    raise ServerStartError(f"the {server.kind} server did not start in {timeout:.0f} s:\n{server.log_tail()}")


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise ServerStartError(
            "PostgreSQL is not installed (apt-get install postgresql: scripts/install-system-deps.sh)"
        )
    return Path(found[-1]).parent


def start_postgres() -> DatabaseServer:
    """initdb + postgres on 127.0.0.1:<free port> and a socket in the base directory."""
    bindir = postgres_bin()
    uid, gid = _as_user("postgres")
    base = _base("ipt-pg.", uid, gid)
    log = base / "server.log"
    log.touch()
    pwfile = base / "pw"
    pwfile.write_text("admin-unused\n")
    if uid is not None and gid is not None:
        os.chown(log, uid, gid)
        os.chown(pwfile, uid, gid)
    _run(
        [
            str(bindir / "initdb"),
            "-D",
            str(base / "data"),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ],
        log,
        "initdb",
        uid,
        gid,
    )
    port = _free_port()
    process = subprocess.Popen(
        [
            str(bindir / "postgres"),
            "-D",
            str(base / "data"),
            "-p",
            str(port),
            "-k",
            str(base),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "shared_buffers=16MB",
        ],
        stdout=open(log, "ab"),  # noqa: SIM115 - the server keeps it
        stderr=subprocess.STDOUT,
        start_new_session=True,
        user=uid,
        group=gid,
        extra_groups=[] if uid is not None else None,
        cwd="/",
    )
    server = DatabaseServer("postgresql", base, port, str(base / f".s.PGSQL.{port}"), process, log)
    _wait(server, server.socket_path)
    _setup(server, [f"CREATE ROLE {USER} LOGIN CREATEDB PASSWORD '{PASSWORD}'"])
    return server


def start_mariadb() -> DatabaseServer:
    """mariadb-install-db + mariadbd (not strict: ``sql_mode=''``) on 127.0.0.1 and a socket."""
    mariadbd = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
    install = shutil.which("mariadb-install-db")
    if not os.path.exists(mariadbd) or install is None:
        raise ServerStartError(
            "MariaDB is not installed (apt-get install mariadb-server: scripts/install-system-deps.sh)"
        )
    uid, gid = _as_user("mysql")
    base = _base("ipt-my.", uid, gid)
    log = base / "server.log"
    log.touch()
    if uid is not None and gid is not None:
        os.chown(log, uid, gid)
    user = ["--user=mysql"] if uid is not None else []
    datadir = base / "data"
    _run(
        [
            install,
            "--no-defaults",
            f"--datadir={datadir}",
            *user,
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
        ],
        log,
        "mariadb-install-db",
    )
    port = _free_port()
    sock = str(base / "mysqld.sock")
    process = subprocess.Popen(
        [
            mariadbd,
            "--no-defaults",
            f"--datadir={datadir}",
            *user,
            f"--socket={sock}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            f"--pid-file={base / 'mysqld.pid'}",
            f"--log-error={log}",
            "--sql-mode=",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=32M",
            "--innodb-log-file-size=16M",
            "--innodb-flush-log-at-trx-commit=0",
            "--innodb-doublewrite=0",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    server = DatabaseServer("mariadb", base, port, sock, process, log)
    _wait(server, sock)
    statements = []
    for host in ("localhost", "127.0.0.1"):
        statements.append(f"CREATE USER '{USER}'@'{host}' IDENTIFIED BY '{PASSWORD}'")
        statements.append(f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'{host}' WITH GRANT OPTION")
    _setup(server, statements)
    return server


def _setup(server: DatabaseServer, statements: list[str]) -> None:
    """Run administrator statements; the server is stopped when they fail."""
    import sqlalchemy as sa

    # PostgreSQL accepts connections on its socket a moment before it takes logins ("the database
    # system is starting up"): on a loaded machine that moment is seconds; wait it out, nothing else
    deadline = time.monotonic() + 60
    while True:
        try:
            engine = sa.create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
            try:
                with engine.connect() as conn:
                    for statement in statements:
                        conn.exec_driver_sql(statement.replace("%", "%%") if server.kind == "mariadb" else statement)
            finally:
                engine.dispose()
            return
        except Exception as exc:  # noqa: BLE001 - any failure: stop the server, report it as a start error
            if "starting up" in str(exc) and time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            server.stop()
            raise ServerStartError(f"setting up the {server.kind} server failed: {exc}") from None


STARTERS = {"postgresql": start_postgres, "mariadb": start_mariadb}
