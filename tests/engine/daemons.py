"""Private container engines for tests: one ``dockerd`` and one ``podman system service``.

Each engine lives entirely under its own short temporary directory (socket, data root, exec
root, pid file, log), never touches the host's engine, and is stopped (and its leftover mounts
unmounted, its directory removed) by :meth:`PrivateEngine.stop`. The Docker engine runs with
``--bridge=none --iptables=false --ip6tables=false``: containers get no network unless they use
``network_mode="host"`` or ``"none"``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class EngineStartError(RuntimeError):
    """The private engine could not be started; the message carries the tail of its log."""


@dataclass
class PrivateEngine:
    """A running private engine: ``url`` is ``unix:///.../<name>.sock``; ``client()`` talks to it."""

    kind: str  # "docker" or "podman"
    base: Path
    socket: Path
    process: subprocess.Popen[bytes]
    log: Path
    #: ``tcp://127.0.0.1:<port>`` with mutual TLS (dockerd only), and the client's cert directory
    #: (ca.pem, cert.pem, key.pem: what DOCKER_CERT_PATH points at).
    tls_url: str | None = None
    tls_dir: Path | None = None
    _clients: list[Any] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def client(self, **kwargs: Any) -> Any:
        """A new ``docker.DockerClient`` for this engine (closed by :meth:`stop`)."""
        import docker

        kwargs.setdefault("timeout", 120)
        client = docker.DockerClient(base_url=self.url, **kwargs)
        self._clients.append(client)
        return client

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Stop the engine (TERM, then KILL), unmount what it left mounted and delete its directory."""
        for client in self._clients:
            with contextlib.suppress(Exception):  # best effort: the engine is going away anyway
                client.close()
        _terminate(self.process)
        if self.kind == "docker":
            # dockerd started its own containerd under the exec root; make sure it is gone too.
            for pidfile in self.base.glob("exec/containerd/containerd.pid"):
                _kill_pidfile(pidfile)
        _unmount_under(self.base)
        shutil.rmtree(self.base, ignore_errors=True)


def _terminate(process: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def _kill_pidfile(pidfile: Path) -> None:
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        pass


def _unmount_under(base: Path) -> None:
    """Lazily unmount every mount point below ``base`` (deepest first)."""
    prefix = str(base.resolve()) + "/"
    points: list[str] = []
    try:
        with open("/proc/self/mountinfo") as handle:
            for line in handle:
                point = line.split()[4].replace("\\040", " ")
                if point.startswith(prefix):
                    points.append(point)
    except OSError:
        return
    for point in sorted(set(points), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


def _short_base(prefix: str) -> Path:
    """A short directory under /tmp: unix socket paths must stay under 108 bytes."""
    root = Path(os.environ.get("IPYNB_TOOLS_ENGINE_TMP", "/tmp"))
    try:
        return Path(tempfile.mkdtemp(prefix=prefix, dir=root))
    except OSError as exc:
        raise EngineStartError(f"cannot make the engine directory under {root}: {exc}") from None


def _wait_ready(engine: PrivateEngine, timeout: float) -> None:
    import docker

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if not engine.alive():
            raise EngineStartError(f"{engine.kind} exited with {engine.process.returncode}:\n{engine.log_tail()}")
        if engine.socket.exists():
            try:
                client = docker.DockerClient(base_url=engine.url, timeout=5)
                try:
                    client.ping()
                    return
                finally:
                    client.close()
            except Exception as exc:  # noqa: BLE001 - whatever the ping raises, the engine is not ready yet
                last = exc
        time.sleep(0.2)
    engine.stop()
    raise EngineStartError(f"{engine.kind} not ready after {timeout:.0f}s ({last}):\n{engine.log_tail()}")


def _free_port() -> int:
    import socket as _socket

    with _socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_tls_certs(directory: Path) -> Path:
    """A throw-away CA, a server cert for 127.0.0.1 and a client cert; returns the client dir.

    Layout: ``directory/server/{ca,cert,key}.pem`` for dockerd, ``directory/client/{ca,cert,key}.pem``
    for the client (the names DOCKER_CERT_PATH expects).
    """
    server, client = directory / "server", directory / "client"
    server.mkdir(parents=True)
    client.mkdir()
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=directory)

    run(
        "req",
        "-x509",
        *key,
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=ipynb-tools test CA",
    )
    for who, cn, ext in (
        (server, "127.0.0.1", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
        (client, "client", "extendedKeyUsage=clientAuth"),
    ):
        (directory / f"{who.name}.ext").write_text(ext + "\n")
        run("req", *key, "-keyout", str(who / "key.pem"), "-out", f"{who.name}.csr", "-subj", f"/CN={cn}")
        run(
            "x509",
            "-req",
            "-in",
            f"{who.name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-out",
            str(who / "cert.pem"),
            "-days",
            "2",
            "-extfile",
            f"{who.name}.ext",
        )
        shutil.copy(directory / "ca.pem", who / "ca.pem")
    return client


def start_dockerd(timeout: float = 60.0, tls: bool = True) -> PrivateEngine:
    """Start a private ``dockerd`` (Debian's docker.io) and wait until it answers ``/_ping``.

    With ``tls`` (and openssl present) it also listens on ``tcp://127.0.0.1:<free port>`` with
    mutual TLS (``--tlsverify``), so ``DOCKER_HOST=tcp://...`` + ``DOCKER_TLS_VERIFY`` +
    ``DOCKER_CERT_PATH`` can be tested against the same engine; the unix socket stays plain.
    """
    dockerd = shutil.which("dockerd") or "/usr/bin/dockerd"
    if not Path(dockerd).exists():
        raise EngineStartError("dockerd is not installed (scripts/install-system-deps.sh installs docker.io)")
    if os.geteuid() != 0:
        raise EngineStartError("the private dockerd needs root")
    base = _short_base("ipt-dockerd.")
    socket = base / "docker.sock"
    config = base / "daemon.json"
    config.write_text(json.dumps({}))  # never read the host's /etc/docker/daemon.json
    log = base / "dockerd.log"
    cmd = [
        dockerd,
        "--host",
        f"unix://{socket}",
        "--data-root",
        str(base / "data"),
        "--exec-root",
        str(base / "exec"),
        "--pidfile",
        str(base / "dockerd.pid"),
        "--config-file",
        str(config),
        "--bridge=none",
        "--iptables=false",
        "--ip6tables=false",
        "--userland-proxy=false",
    ]
    tls_url = tls_dir = None
    if tls and shutil.which("openssl"):
        tls_dir = make_tls_certs(base / "tls")
        tls_url = f"tcp://127.0.0.1:{_free_port()}"
        server = base / "tls" / "server"
        cmd += [
            "--host",
            tls_url,
            "--tlsverify",
            f"--tlscacert={server / 'ca.pem'}",
            f"--tlscert={server / 'cert.pem'}",
            f"--tlskey={server / 'key.pem'}",
        ]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    engine = PrivateEngine("docker", base, socket, process, log, tls_url, tls_dir)
    _wait_ready(engine, timeout)
    return engine


def start_podman(timeout: float = 60.0) -> PrivateEngine:
    """Start ``podman system service`` on a private socket with its own storage root and runroot.

    Uses the ``vfs`` storage driver (no overlay mounts left behind) and file events (no journald).
    """
    podman = shutil.which("podman")
    if podman is None:
        raise EngineStartError("podman is not installed (scripts/install-system-deps.sh installs it)")
    base = _short_base("ipt-podman.")
    socket = base / "podman.sock"
    log = base / "podman.log"
    for sub in ("root", "run", "tmp"):
        (base / sub).mkdir()
    cmd = [
        podman,
        "--root",
        str(base / "root"),
        "--runroot",
        str(base / "run"),
        "--tmpdir",
        str(base / "tmp"),
        "--storage-driver",
        "vfs",
        "--events-backend",
        "file",
        "--cgroup-manager",
        "cgroupfs",
        "system",
        "service",
        "--time=0",
        f"unix://{socket}",
    ]
    # Podman raises the containers' open-files and process limits as root (nofile 1048576), above
    # what a sandboxed host may allow (runc: "error setting rlimit type 7/6: operation not
    # permitted"); give containers modest limits within the host's hard limits instead.
    import resource

    limits = []
    for name, which, cap in (("nofile", resource.RLIMIT_NOFILE, 65536), ("nproc", resource.RLIMIT_NPROC, 4096)):
        hard = resource.getrlimit(which)[1]
        value = cap if hard == resource.RLIM_INFINITY else min(hard, cap)
        limits.append(f'"{name}={value}:{value}"')
    conf = base / "containers.conf"
    conf.write_text(f"[containers]\ndefault_ulimits = [{', '.join(limits)}]\n")
    env = {**os.environ, "XDG_RUNTIME_DIR": str(base / "run"), "CONTAINERS_CONF": str(conf)}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True
        )
    engine = PrivateEngine("podman", base, socket, process, log)
    _wait_ready(engine, timeout)
    return engine
