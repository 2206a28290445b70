"""A real multi-node Docker Swarm on this machine: private dockerds joined on loopback addresses.

Each node is a private ``dockerd`` of :mod:`tests.engine.daemons` (its own socket, data root,
exec root, pid file and log under ``/tmp/ipt-dockerd.*``; the swarm's state, certificates and
raft log live in ``<data root>/swarm``), started ``--bridge=none --iptables=false``. The manager
runs ``swarm init`` and the workers ``swarm join`` with ``--listen-addr``/``--advertise-addr``
/``--data-path-addr`` on their own loopback address (``127.X.Y.Z``: the whole 127/8 is the
loopback here, so every node has the swarm ports 2377 and 7946 to itself; nothing leaves the
machine). Users' services run on the host network, so neither the overlay data path (VXLAN
4789) nor the ingress routing mesh is used: ``swarm init`` makes the ``ingress`` network, but
no task joins it, and with ``--iptables=false`` no rule is written for it.

Images come from no registry: :meth:`Swarm.share_image` copies an image from the manager into
every other node (``docker save`` | ``docker load`` through the SDK).

:meth:`Swarm.stop` leaves the swarm on every node and stops every engine (and its containerd),
unmounts what they left and removes their directories, also when starting failed half-way.
"""

from __future__ import annotations

import contextlib
import random
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from .daemons import EngineStartError, PrivateEngine, start_dockerd

SWARM_PORT = 2377
GOSSIP_PORT = 7946


@dataclass
class Swarm:
    """Running nodes: ``engines[0]`` is the manager; ``addrs[i]`` is node i's loopback address."""

    engines: list[PrivateEngine] = field(default_factory=list)
    addrs: list[str] = field(default_factory=list)
    node_ids: list[str] = field(default_factory=list)

    @property
    def manager(self) -> PrivateEngine:
        return self.engines[0]

    @property
    def workers(self) -> list[PrivateEngine]:
        return self.engines[1:]

    def engine_of(self, node_id: str) -> PrivateEngine:
        """The engine of the node with this swarm node id."""
        return self.engines[self.node_ids.index(node_id)]

    def share_image(self, tag: str) -> None:
        """Copy ``tag`` from the manager into every worker (save | load), unless a worker has it."""
        source = self.manager.client()
        data: bytes | None = None
        for engine in self.workers:
            client = engine.client()
            try:
                client.images.get(tag)
                continue
            except Exception:  # noqa: BLE001 - not there yet (docker.errors.ImageNotFound)
                pass
            if data is None:
                data = b"".join(source.images.get(tag).save(named=True))
            client.images.load(data)

    def stop(self) -> None:
        """Leave the swarm (workers first) and stop every engine; best effort, never raises."""
        for engine in reversed(self.engines):
            if engine.alive():
                with contextlib.suppress(Exception):  # best effort: the engine is being stopped anyway
                    client = engine.client(timeout=20)
                    client.swarm.leave(force=True)
        for engine in reversed(self.engines):
            with contextlib.suppress(Exception):  # one engine's failure must not leave the others running
                engine.stop()


def _port_free(addr: str, port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind((addr, port))
            except OSError:
                return False
    return True


def loopback_addresses(count: int) -> list[str]:
    """``count`` loopback addresses (one /24 of 127/8 chosen at random) whose swarm ports are free."""
    for _ in range(50):
        net = f"127.{random.randint(100, 250)}.{random.randint(0, 255)}"
        addrs = [f"{net}.{10 + i}" for i in range(count)]
        if all(_port_free(a, p) for a in addrs for p in (SWARM_PORT, GOSSIP_PORT)):
            return addrs
    raise EngineStartError("no loopback addresses with free swarm ports (2377, 7946)")


def start_swarm(nodes: int = 2, timeout: float = 90.0) -> Swarm:
    """Start ``nodes`` private dockerds and join them as one swarm (node 0 the manager, the rest workers)."""
    import docker

    swarm = Swarm()
    try:
        swarm.addrs = loopback_addresses(nodes)
        for _ in range(nodes):
            swarm.engines.append(start_dockerd(timeout=60.0, tls=False))
        manager = swarm.manager.client(timeout=timeout)
        addr = swarm.addrs[0]
        try:
            manager.swarm.init(
                advertise_addr=f"{addr}:{SWARM_PORT}", listen_addr=f"{addr}:{SWARM_PORT}", data_path_addr=addr
            )
        except docker.errors.APIError as exc:
            raise EngineStartError(f"swarm init on {addr} failed: {exc}\n{swarm.manager.log_tail()}") from None
        manager.swarm.reload()
        token = manager.swarm.attrs["JoinTokens"]["Worker"]
        for engine, worker_addr in zip(swarm.workers, swarm.addrs[1:], strict=True):
            try:
                engine.client(timeout=timeout).swarm.join(
                    remote_addrs=[f"{addr}:{SWARM_PORT}"],
                    join_token=token,
                    listen_addr=f"{worker_addr}:{SWARM_PORT}",
                    advertise_addr=f"{worker_addr}:{SWARM_PORT}",
                    data_path_addr=worker_addr,
                )
            except docker.errors.APIError as exc:
                raise EngineStartError(f"swarm join from {worker_addr} failed: {exc}\n{engine.log_tail()}") from None
        swarm.node_ids = [engine.client().info()["Swarm"]["NodeID"] for engine in swarm.engines]
        _wait_ready(manager, set(swarm.node_ids), timeout)
        return swarm
    except BaseException:
        swarm.stop()
        raise


def _wait_ready(manager: Any, ids: set[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        states = {n.id: n.attrs["Status"]["State"] for n in manager.nodes.list()}
        if all(states.get(i) == "ready" for i in ids):
            return
        time.sleep(0.2)
    raise EngineStartError(f"swarm nodes not ready after {timeout:.0f}s: {states}")
