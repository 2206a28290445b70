"""``LTISwarmSpawner``: the LTI launch's container as a Docker Swarm service, on DockerSpawner's ``SwarmSpawner``.

The same launch, role, refusals and container spec as the single-host
:class:`~ipynb_tools.hub.spawner.LTIContainerSpawner` (it is that class with dockerspawner's
``SwarmSpawner`` below it in the method order: ``LTISwarmSpawner -> LTIContainerSpawner ->
SwarmSpawner -> DockerSpawner``), so :func:`ipynb_tools.spec.build_spec` is the one source of the
image, the NB_* environment, the volumes, the limits and the labels. What a service needs besides:

- limits and guarantees become the service's resources (``SwarmSpawner``: ``Limits`` from
  ``mem_limit``/``cpu_limit``, ``Reservations`` from ``mem_guarantee``/``cpu_guarantee``, which the
  shared code sets from ``lms_memlimit``/``lms_cpulimit``/``lms_memgrnt``/``lms_cpugrnt``);
- every named volume (the course's task and submit volumes, the site's home volume) is mounted
  with the engine's ``local`` driver pointing into the shared storage
  (:class:`~ipynb_tools.volumes.shared.SharedStorage`, traits ``shared_volume_*``), so the node
  that runs the server makes the same volume as every other node; the volume's directory is made
  in the shared root before the service is created;
- placement: :attr:`placement_constraints` and :attr:`placement_preferences`;
- the service name is the container name made a swarm name (:func:`ipynb_tools.spec.service_name`);
- with ``network_name = "host"`` the hub reaches the server on :attr:`host_network_ip`, or, when
  that is ``0.0.0.0``, on the address of the node the task runs on.

See ``docs/swarm.md``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from docker.types import DriverConfig, Mount, RestartPolicy
from dockerspawner import SwarmSpawner
from traitlets import Float, List, Unicode

from ..errors import IpynbToolsError
from ..spec import ContainerSpec, service_name
from ..volumes.shared import SharedStorage, make_directory
from .spawner import LaunchRefused, LTIContainerSpawner

#: Task states in which a service's server may still come up (dockerspawner's list).
_WAITING_STATES = {"new", "assigned", "accepted", "starting", "pending", "preparing", "ready", "rejected"}


class LTISwarmSpawner(LTIContainerSpawner, SwarmSpawner):  # type: ignore[misc]  # dockerspawner is untyped
    """LTIContainerSpawner whose servers are swarm services on volumes of a shared file system."""

    shared_volume_root = Unicode(
        "",
        config=True,
        help="""The shared root of the volumes: a directory every swarm node has mounted at this same path
        (bind), or with shared_volume_nfs_server the NFS export path. Each volume (task, submit, the site's
        home volumes) is <root>/<volume name>. Required: node-local volumes would differ from node to node.""",
    )
    shared_volume_nfs_server = Unicode(
        "",
        config=True,
        help="""The NFS server the engines mount the volumes from themselves (local driver type=nfs,
        o=addr=<server>,...). Empty: the shared root is a directory already mounted on every node.""",
    )
    shared_volume_nfs_options = Unicode(
        "", config=True, help="Further NFS mount options, comma-separated, e.g. 'nfsvers=4.1,hard,timeo=600'."
    )
    shared_volume_local_root = Unicode(
        "",
        config=True,
        help="""Where the hub's machine has the shared root mounted, to make each volume's directory before a
        server starts (default: shared_volume_root; required with an NFS server).""",
    )
    placement_constraints = List(
        Unicode(),
        config=True,
        help="""Swarm placement constraints of every server, e.g. ["node.role==worker",
        "node.labels.jupyter==yes"] (docker service create --constraint).""",
    )
    placement_preferences = List(
        Unicode(),
        config=True,
        help="""Swarm placement preferences, "spread=<node attribute>", e.g. ["spread=node.labels.rack"].
        Each server is a service of one task, and the scheduler already puts a new task on the node with
        the fewest tasks: servers spread over the nodes without any preference.""",
    )
    task_poll_interval = Float(
        0.25,
        config=True,
        help="""Seconds between looks at a starting server's task (doubling up to 2 s); dockerspawner's own
        wait starts at one second and grows to eleven.""",
    )

    _storage: SharedStorage | None = None

    def storage(self) -> SharedStorage:
        """The shared storage of the traits; :class:`LaunchRefused` when it is not configured or wrong."""
        if self._storage is None:
            try:
                storage = SharedStorage.from_settings(
                    self.shared_volume_root,
                    self.shared_volume_nfs_server,
                    self.shared_volume_nfs_options,
                    self.shared_volume_local_root,
                )
            except IpynbToolsError as exc:
                raise LaunchRefused(f"The site's swarm settings cannot work: {exc}") from None
            if storage is None:
                raise LaunchRefused(
                    "The site's swarm settings cannot work: LTISwarmSpawner.shared_volume_root is not set "
                    "(node-local volumes would differ from node to node)"
                )
            self._storage = storage
        return self._storage

    def _site_config(self) -> dict[str, Any]:
        site = super()._site_config()
        site.setdefault("extra_container_spec", dict(self.extra_container_spec))
        site.setdefault("extra_placement_spec", dict(self.extra_placement_spec))
        site.setdefault("extra_task_spec", dict(self.extra_task_spec))
        return site

    def _apply(self, spec: ContainerSpec, site: dict[str, Any]) -> None:
        """The shared settings, then what a service takes instead of a container's create arguments."""
        super()._apply(spec, site)
        self.object_name = service_name(spec.name)
        base = site["extra_create_kwargs"]
        service_kwargs = dict(base) if isinstance(base, dict) else {}
        service_kwargs["labels"] = {**service_kwargs.get("labels", {}), **spec.labels}
        # a dict, not the shared code's callable: SwarmSpawner passes it to create_service as it is
        self.set_trait("extra_create_kwargs", service_kwargs)
        container = dict(site["extra_container_spec"])
        container["labels"] = {**container.get("labels", {}), **spec.labels}
        container["user"] = spec.user
        self.extra_container_spec = container
        placement = dict(site["extra_placement_spec"])
        if self.placement_constraints:
            placement["constraints"] = [*placement.get("constraints", []), *self.placement_constraints]
        if self.placement_preferences:
            placement["preferences"] = [*placement.get("preferences", []), *self._preferences()]
        self.extra_placement_spec = placement
        task = dict(site["extra_task_spec"])
        # A server that stops itself at its activity limit (serverext/limits.py) must stay stopped:
        # swarm's default policy restarts any exited task, with a fresh clock. A site may still
        # choose its own policy in extra_task_spec.
        task.setdefault("restart_policy", RestartPolicy(condition="none"))
        self.extra_task_spec = task

    def _preferences(self) -> list[tuple[str, str]]:
        out = []
        for text in self.placement_preferences:
            strategy, sep, descriptor = text.partition("=")
            if strategy != "spread" or not sep or not descriptor:
                raise LaunchRefused(
                    f"The site's swarm settings cannot work: placement preference {text!r} "
                    "is not spread=<node attribute>"
                )
            out.append((strategy, descriptor))
        return out

    @property
    def mounts(self) -> list[Mount]:
        """Named volumes on the shared storage (labelled like the course's volumes), absolute paths as binds.

        dockerspawner's own ``mounts`` binds every source, which a volume name cannot be.
        """
        storage = self.storage()
        labels = {m.volume: m.labels for m in self.spec.mounts} if self.spec is not None else {}
        out = []
        for source, bind in sorted(self.volume_binds.items()):
            read_only = bind["mode"] == "ro"
            if source.startswith("/"):
                out.append(Mount(target=bind["bind"], source=source, type="bind", read_only=read_only))
                continue
            out.append(
                Mount(
                    target=bind["bind"],
                    source=source,
                    type="volume",
                    read_only=read_only,
                    labels=dict(labels.get(source, {})) or None,
                    driver_config=DriverConfig("local", storage.driver_opts(source)),
                )
            )
        return out

    async def ensure_volumes(self) -> None:
        """Make each named volume's directory in the shared root (every node's volume points there).

        No engine volume is made here: the node that runs the task makes it from the mount.
        """
        storage = self.storage()
        names = sorted(source for source in self.volume_binds if not source.startswith("/"))
        loop = asyncio.get_running_loop()
        for name in names:
            try:
                made = await loop.run_in_executor(None, make_directory, storage, name)
            except IpynbToolsError as exc:
                raise LaunchRefused(f"The course's volumes cannot be prepared: {exc}") from None
            if made:
                self.log.info("ipynb-tools: made the directory of volume %s in %s", name, storage.describe())

    async def start(self) -> Any:
        self.storage()  # refuse a misconfigured site before anything is made
        if not self.create_volumes:
            self.log.warning(
                "ipynb-tools: create_volumes is off: the volumes' directories must exist in the shared root"
            )
        return await super().start()

    async def start_object(self) -> None:
        """Wait until the service's task runs (dockerspawner's rule, with a shorter first wait)."""
        delay = self.task_poll_interval
        while True:
            task = await self.get_task()
            if not task:
                raise RuntimeError(f"Service {self.service_name} not found")
            state = task["Status"]["State"].lower()
            if state not in _WAITING_STATES:
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        if state != "running":
            raise RuntimeError(f"Service {self.service_name} not running: {task['Status']}")

    async def get_ip_and_port(self) -> tuple[str, int]:
        """On the host network: :attr:`host_network_ip`, or the task's node address when that is 0.0.0.0."""
        if self.network_name == "host" and self.host_network_ip in ("0.0.0.0", "::"):
            task = await self.get_task()
            node = await self.docker("inspect_node", task["NodeID"])
            return str(node["Status"]["Addr"]), self.port
        ip_port: tuple[str, int] = await super().get_ip_and_port()
        return ip_port
