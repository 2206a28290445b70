"""A throw-away OpenSSH server on loopback for remote-engine (``ssh://``) tests.

Generated host and user keys, its own ``sshd_config`` on a free non-standard port bound to
127.0.0.1 only, key login for the current user, and ``DOCKER_HOST`` pointed at the private
engine's socket for the login sessions (``authorized_keys`` ``environment=`` option with
``PermitUserEnvironment``), so ``docker system dial-stdio`` run by the SDK over SSH reaches the
private engine instead of the host's. :meth:`LocalSshd.client_home` writes a ``$HOME`` with
``.ssh/config`` (Port, IdentityFile) and ``.ssh/known_hosts`` for the SDK's paramiko transport;
:meth:`LocalSshd.ssh_wrapper_dir` provides an ``ssh`` on ``PATH`` that uses the same config, for
the SDK's ``use_ssh_client=True`` transport (OpenSSH reads ``~`` from passwd, not ``$HOME``).
"""

from __future__ import annotations

import getpass
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


class SshdStartError(RuntimeError):
    """sshd could not be started."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalSshd:
    base: Path
    port: int
    user: str
    user_key: Path
    host_pubkey: str
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}"

    def client_config(self) -> Path:
        """An ssh_config for 127.0.0.1 with our key and known_hosts."""
        known = self.base / "known_hosts"
        known.write_text(f"[127.0.0.1]:{self.port} {self.host_pubkey}\n")
        config = self.base / "ssh_config"
        config.write_text(
            "Host 127.0.0.1\n"
            f"  Port {self.port}\n"
            f"  User {self.user}\n"
            f"  IdentityFile {self.user_key}\n"
            "  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {known}\n"
            "  StrictHostKeyChecking yes\n"
            "  BatchMode yes\n"
        )
        return config

    def client_home(self) -> Path:
        """A directory to use as ``$HOME``: ``.ssh/config`` and ``.ssh/known_hosts`` for paramiko."""
        home = self.base / "home"
        ssh = home / ".ssh"
        ssh.mkdir(parents=True, exist_ok=True, mode=0o700)
        config = self.client_config()
        shutil.copy(config, ssh / "config")
        shutil.copy(self.base / "known_hosts", ssh / "known_hosts")
        return home

    def ssh_wrapper_dir(self) -> Path:
        """A directory holding an ``ssh`` that runs the real client with :meth:`client_config`."""
        wrap = self.base / "bin"
        wrap.mkdir(exist_ok=True)
        real = shutil.which("ssh") or "/usr/bin/ssh"
        script = wrap / "ssh"
        script.write_text(f'#!/bin/sh\nexec {real} -F {self.client_config()} "$@"\n')
        script.chmod(0o755)
        return wrap

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        shutil.rmtree(self.base, ignore_errors=True)


def start_sshd(base: Path, docker_host: str, timeout: float = 15.0) -> LocalSshd:
    """Start sshd on 127.0.0.1:<free port>; login sessions get ``DOCKER_HOST=docker_host``."""
    if not Path(SSHD).exists():
        raise SshdStartError("sshd is not installed (scripts/install-system-deps.sh installs openssh-server)")
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o700)
    user = getpass.getuser()
    host_key = base / "host_ed25519"
    user_key = base / "user_ed25519"
    for key in (host_key, user_key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    authorized = base / "authorized_keys"
    authorized.write_text(f'environment="DOCKER_HOST={docker_host}" {(user_key.with_suffix(".pub")).read_text()}')
    authorized.chmod(0o600)
    port = free_port()
    config = base / "sshd_config"
    config.write_text(
        f"Port {port}\n"
        "ListenAddress 127.0.0.1\n"
        f"HostKey {host_key}\n"
        f"PidFile {base / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {authorized}\n"
        "PubkeyAuthentication yes\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "PermitRootLogin prohibit-password\n"
        "PermitUserEnvironment DOCKER_HOST\n"
        "StrictModes no\n"
        "UsePAM no\n"
        f"AllowUsers {user}\n"
        "LogLevel VERBOSE\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation directory
    log = base / "sshd.log"
    with open(log, "wb") as out:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    host_pub = host_key.with_suffix(".pub").read_text().split()
    server = LocalSshd(base, port, user, user_key, f"{host_pub[0]} {host_pub[1]}", process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SshdStartError(f"sshd exited: {log.read_text(errors='replace')[-800:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise SshdStartError(f"sshd not listening on 127.0.0.1:{port} after {timeout}s")
