"""A course's volumes over a Docker Swarm: each volume once, the nodes that hold it, what uses it (issue 17).

Engine volumes are node-local even in a swarm: every node that runs a user's server makes its own
volume of the same name (from the service mount's driver options, :mod:`ipynb_tools.volumes.shared`),
and the manager's API lists services, tasks and nodes but no node's volumes. So a cluster is
looked at through the manager (``GET /nodes``, ``GET /services``, ``GET /tasks``) plus the engines
of the nodes the caller can reach (one :func:`ipynb_tools.volumes.course.list_volumes` each):

- the nodes that hold a volume are those whose engine lists it, and those running a task of a
  service that mounts it (the engine made it there);
- the services that use a volume are the services whose task template mounts it (whatever the
  state of their tasks: the hub removes a user's service when the server stops);
- :func:`remove_cluster_volumes` needs every node's engine, refuses a volume that any service or
  any container on any node uses, and otherwise removes it from every given engine that holds it and, with shared
  storage, its directory in the shared root.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import docker.errors

from .course import ContainerUse, VolumeInUse, choose, list_volumes, parse_ref
from .engine import Engine, EngineError, calling
from .naming import ENGINE_KINDS, LABEL_COURSE, LABEL_HOST, LABEL_KIND, LABEL_NAME, VolumeKind, check_course, check_host
from .shared import SharedStorage, remove_directory


class NotASwarm(EngineError):
    """The engine is not a swarm manager (or a node engine is not in the manager's swarm)."""


@dataclass(frozen=True)
class Node:
    """A swarm node as the manager lists it."""

    id: str
    hostname: str
    role: str  # manager or worker
    addr: str  # the address the node reports (its advertise address)
    state: str  # ready, down...

    def __str__(self) -> str:
        # nodes of one machine (or cloned hosts) may share a host name: the id's head tells them apart
        return f"{self.hostname}/{self.id[:12]}"

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "hostname": self.hostname, "role": self.role, "addr": self.addr, "state": self.state}


@dataclass(frozen=True)
class ServiceUse:
    """A swarm service whose task template mounts a volume, and the nodes its running tasks are on."""

    name: str
    id: str
    nodes: tuple[str, ...] = ()  # node ids

    def __str__(self) -> str:
        return f"service {self.name}"


@dataclass(frozen=True)
class NodeContainer:
    """A container on one node that mounts a volume (a service's task container, or any other)."""

    node: Node
    container: ContainerUse

    def __str__(self) -> str:
        return f"container {self.container} on {self.node}"


@dataclass(frozen=True)
class ClusterVolume:
    """One task or submit volume of a course over the swarm: listed once, with its holders and users."""

    full_name: str
    kind: VolumeKind
    name: str
    course: str
    host: str
    labels: dict[str, str]
    nodes: tuple[Node, ...]
    services: tuple[ServiceUse, ...] = ()
    containers: tuple[NodeContainer, ...] = ()
    #: Driver options per node id (nodes whose engine was asked).
    options: dict[str, dict[str, str]] = field(default_factory=dict)
    #: With shared storage given: every asked node's volume points into it.
    shared: bool | None = None

    @property
    def kind_label(self) -> str:
        return self.kind.label

    @property
    def labelled(self) -> bool:
        return all(key in self.labels for key in (LABEL_COURSE, LABEL_HOST, LABEL_KIND, LABEL_NAME))

    @property
    def in_use(self) -> bool:
        return bool(self.services or self.containers)

    @property
    def users(self) -> list[str]:
        """What uses the volume, for messages: services, then containers not belonging to them."""
        return [str(s) for s in self.services] + [str(c) for c in self.containers]

    def to_json(self) -> dict[str, Any]:
        return {
            "full_name": self.full_name,
            "kind": self.kind.value,
            "kind_label": self.kind_label,
            "name": self.name,
            "course": self.course,
            "host": self.host,
            "labels": dict(self.labels),
            "labelled": self.labelled,
            "nodes": [n.to_json() for n in self.nodes],
            "services": [{"name": s.name, "id": s.id, "nodes": list(s.nodes)} for s in self.services],
            "containers": [
                {"node": c.node.id, "name": c.container.name, "id": c.container.id, "state": c.container.state}
                for c in self.containers
            ],
            "options": {node: dict(opts) for node, opts in self.options.items()},
            "shared": self.shared,
            "in_use": self.in_use,
        }


@dataclass(frozen=True)
class ClusterRemoveResult:
    """What :func:`remove_cluster_volumes` did for one volume."""

    full_name: str
    removed_from: tuple[Node, ...]
    directory_removed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "full_name": self.full_name,
            "removed_from": [n.id for n in self.removed_from],
            "directory_removed": self.directory_removed,
        }


@dataclass(frozen=True)
class ClusterListing:
    """The swarm's nodes, the nodes whose engines were asked, and the course's volumes."""

    nodes: tuple[Node, ...]
    asked: tuple[Node, ...]
    volumes: tuple[ClusterVolume, ...]

    @property
    def unasked(self) -> tuple[Node, ...]:
        """Nodes whose engine was not given: their volumes are known only from running tasks."""
        return tuple(n for n in self.nodes if n not in self.asked)


def swarm_nodes(manager: Engine) -> list[Node]:
    """The swarm's nodes from its manager (``GET /nodes``); :class:`NotASwarm` when it is no manager."""
    with calling(manager, "listing swarm nodes"):
        try:
            raw = manager.api.nodes()
        except docker.errors.APIError as exc:
            if exc.status_code == 503:
                raise NotASwarm(
                    f"the engine at {manager.url} is not a swarm manager: {exc.explanation or exc}"
                ) from None
            raise
    nodes = []
    for item in raw:
        spec, status, description = item.get("Spec") or {}, item.get("Status") or {}, item.get("Description") or {}
        nodes.append(
            Node(
                id=item.get("ID", ""),
                hostname=description.get("Hostname", ""),
                role=spec.get("Role", ""),
                addr=status.get("Addr", ""),
                state=status.get("State", ""),
            )
        )
    return sorted(nodes, key=lambda n: (n.role != "manager", n.hostname, n.id))


def node_id(engine: Engine) -> str:
    """The swarm node id of the engine (``GET /info``); :class:`NotASwarm` when it is in no swarm."""
    with calling(engine, "asking the engine for its swarm node"):
        info = engine.api.info()
    swarm = info.get("Swarm") or {}
    if swarm.get("LocalNodeState") != "active" or not swarm.get("NodeID"):
        raise NotASwarm(f"the engine at {engine.url} is not an active swarm node")
    return str(swarm["NodeID"])


def _services_by_volume(manager: Engine) -> dict[str, list[ServiceUse]]:
    """Volume name -> services whose task template mounts it, with the nodes of their running tasks."""
    with calling(manager, "listing swarm services"):
        services = manager.api.services()
    with calling(manager, "listing swarm tasks"):
        tasks = manager.api.tasks(filters={"desired-state": "running"})
    task_nodes: dict[str, list[str]] = {}
    for task in tasks:
        if task.get("NodeID"):
            task_nodes.setdefault(task.get("ServiceID", ""), []).append(task["NodeID"])
    uses: dict[str, list[ServiceUse]] = {}
    for service in services:
        spec = service.get("Spec") or {}
        container = (spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
        use = ServiceUse(
            spec.get("Name", ""), service.get("ID", ""), tuple(sorted(set(task_nodes.get(service.get("ID", ""), []))))
        )
        for mount in container.get("Mounts") or ():
            if mount.get("Type", "volume") == "volume" and mount.get("Source"):
                uses.setdefault(mount["Source"], []).append(use)
    return uses


def list_cluster_volumes(
    manager: Engine,
    node_engines: Sequence[Engine],
    course: str,
    host: str,
    *,
    storage: SharedStorage | None = None,
) -> ClusterListing:
    """The course's task and submit volumes over the swarm of ``manager``, each once, sorted by kind and NAME.

    ``node_engines``: engines of the swarm's nodes (the manager's own engine is always asked);
    an engine that is not a node of this swarm raises :class:`NotASwarm`. A volume held only by
    nodes that were not asked shows up when a running task there mounts it. Engine calls: three
    on the manager, then ``GET /info`` + :func:`~ipynb_tools.volumes.course.list_volumes` (two)
    per engine asked. Raises :class:`EngineError` (:class:`NotASwarm`).
    """
    check_course(course)
    check_host(host)
    nodes = {n.id: n for n in swarm_nodes(manager)}
    services = _services_by_volume(manager)
    asked: dict[str, Engine] = {}
    for engine in (manager, *node_engines):
        nid = node_id(engine)
        if nid not in nodes:
            raise NotASwarm(f"the engine at {engine.url} is node {nid[:12]}, not a node of the swarm of {manager.url}")
        asked.setdefault(nid, engine)
    found: dict[str, dict[str, Any]] = {}
    for nid, engine in asked.items():
        for volume in list_volumes(engine, course, host):
            entry = found.setdefault(
                volume.full_name,
                {"volume": volume, "holders": set(), "containers": [], "options": {}},
            )
            entry["holders"].add(nid)
            entry["options"][nid] = dict(volume.options)
            entry["containers"].extend(NodeContainer(nodes[nid], c) for c in volume.used_by)
    result = []
    for full, entry in found.items():
        volume = entry["volume"]
        users = services.get(full, [])
        holders = set(entry["holders"]) | {n for s in users for n in s.nodes if n in nodes}
        shared = None
        if storage is not None:
            shared = all(storage.holds(full, opts) for opts in entry["options"].values())
        result.append(
            ClusterVolume(
                full_name=full,
                kind=volume.kind,
                name=volume.name,
                course=volume.course,
                host=volume.host,
                labels=dict(volume.labels),
                nodes=tuple(sorted((nodes[h] for h in holders), key=lambda n: (n.hostname, n.id))),
                services=tuple(sorted(users, key=lambda s: s.name)),
                containers=tuple(entry["containers"]),
                options=entry["options"],
                shared=shared,
            )
        )
    result.sort(key=lambda v: (ENGINE_KINDS.index(v.kind), v.name))
    return ClusterListing(tuple(nodes.values()), tuple(nodes[n] for n in asked), tuple(result))


def remove_cluster_volumes(
    manager: Engine,
    node_engines: Sequence[Engine],
    refs: Sequence[str],
    course: str,
    host: str,
    *,
    storage: SharedStorage | None = None,
) -> list[ClusterRemoveResult]:
    """Remove the named task/submit volumes of this course from every node engine given that holds them.

    Everything is checked before anything is removed: a swarm node whose engine is not in
    ``node_engines`` (its containers cannot be seen: :class:`EngineError` naming it), an unknown
    name, a personal or another course's volume, or a volume used by any service (its users'
    servers: stop them in the hub first) or by any container on any node stops the whole call
    (:class:`VolumeInUse` names them). Then each volume is removed from each asked engine that holds it and, with
    ``storage``, its directory in the shared root (the data every node saw) is removed.
    """
    if not refs:
        raise EngineError("name at least one volume to remove")
    parsed = [parse_ref(ref, course, host) for ref in refs]
    listing = list_cluster_volumes(manager, node_engines, course, host, storage=storage)
    if listing.unasked:
        # a container there (not a service's: someone's `docker run`, a task still stopping) is not
        # seen, and the volume's data in the shared root is what that container works in
        raise EngineError(
            "not every node's engine was given: "
            + ", ".join(str(n) for n in listing.unasked)
            + " (a container there may use the volumes; give each node's engine, or take a node that is"
            " gone out of the swarm with 'docker node rm'; nothing removed)"
        )
    chosen = choose({v.full_name: v for v in listing.volumes}, parsed, course, host, f"the swarm of {manager.url}")
    busy = [v for v in chosen if v.in_use]
    if busy:
        raise VolumeInUse(
            "; ".join(f"{v.full_name} is in use by {', '.join(v.users)}" for v in busy)
            + " (nothing removed; stop those servers first)"
        )
    engines = {node_id(e): e for e in (manager, *node_engines)}
    results = []
    for volume in chosen:
        removed = []
        for node in volume.nodes:
            engine = engines.get(node.id)
            if engine is None:
                continue
            # NotFound: removed meanwhile, the goal is reached
            with calling(engine, f"removing {volume.full_name} on {node}"), contextlib.suppress(docker.errors.NotFound):
                engine.api.remove_volume(volume.full_name)
            removed.append(node)
        gone = remove_directory(storage, volume.full_name) if storage is not None else False
        results.append(ClusterRemoveResult(volume.full_name, tuple(removed), gone))
    return results
