"""A course on a real two-node Docker Swarm: LTISwarmSpawner's services, shared volumes, ``volumes ls/rm``.

Two private dockerds on this machine, joined as manager and worker on their own loopback
addresses (``tests/engine/swarm.py``); the shared root is one directory both nodes see at the same
path (as an NFS or CephFS mount would be on real nodes). The spawner runs without a hub (the user
and hub objects are the few attributes it reads); each server's command runs ``ipynb-tools setup``
and then sleeps, and the users work with the in-container commands through ``exec`` on the node
that runs their task. The teacher is placed on one node and a student on the other (placement
constraints); two more students are placed by the scheduler alone and land on both nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import docker
import pytest
from click.testing import CliRunner
from traitlets.config import Config

from ipynb_tools.cli.main import cli
from ipynb_tools.hub.swarm import LTISwarmSpawner
from tests.engine import images
from tests.engine.swarm import Swarm

pytestmark = [pytest.mark.engine, pytest.mark.slow]

HOST = "lms.example.org"
COURSE = "98"
TASK = f"lms_vol_py_{COURSE}_{HOST}"
SUBMIT = f"lms_sub_py_{COURSE}_{HOST}"
USERS = {"tea": 1001, "alice": 1002, "bob": 1003, "carol": 1004}
CUSTOM = {
    "lms_teachers": "tea",
    "lms_users": "*",
    "lms_vol_py": "課題",
    "lms_sub_py": "提出",
    "lms_prs_py": "作業",
    "lms_memlimit": "300000000",
    "lms_memgrnt": "50000000",
    "lms_cpulimit": "0.5",
}
NOTEBOOK = {
    "cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": "x = 1"}],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}
READY = "/tmp/ipynb-tools-ready"


def works(user: str) -> str:
    return f"/home/{user}/jupyter/works"


def auth_state(user: str) -> dict[str, str]:
    """What LTI11Authenticator stores for a launch of the course's activity."""
    state = {
        "lti_message_type": "basic-lti-launch-request",
        "lti_version": "LTI-1p0",
        "context_id": COURSE,
        "resource_link_id": "7",
        "roles": "Learner",
        "tool_consumer_instance_guid": HOST,
        "ext_user_username": user,
        "user_id": str(USERS[user]),
    }
    state.update({f"custom_{k}": v for k, v in CUSTOM.items()})
    return state


class SwarmCourse:
    """The course on the swarm: one spawner per user, and commands run in their task's container."""

    def __init__(self, swarm: Swarm, image: str, root: Path) -> None:
        self.swarm = swarm
        self.image = image
        self.root = root
        self.spawners: dict[str, LTISwarmSpawner] = {}

    def spawner(self, user: str, constraints: list[str] | None = None) -> LTISwarmSpawner:
        c = Config()
        c.DockerSpawner.image = self.image
        c.DockerSpawner.volumes = {"jupyterhub-user-{username}": "/home/{username}"}
        c.DockerSpawner.network_name = "host"
        c.DockerSpawner.cmd = ["sh", "-c", f"ipynb-tools setup; touch {READY}; exec sleep infinity"]
        c.SwarmSpawner.extra_container_spec = {"init": True}
        c.LTIContainerSpawner.lookup_host_users = False
        c.LTIContainerSpawner.user_ids = lambda s: (USERS[s.user.name], 100)
        c.LTISwarmSpawner.shared_volume_root = str(self.root)
        c.LTISwarmSpawner.placement_constraints = constraints or []

        async def get_auth_state() -> dict[str, str]:
            return auth_state(user)

        owner = SimpleNamespace(
            name=user,
            id=USERS[user],
            url=f"/user/{user}/",
            escaped_name=user,
            base_url="/",
            settings={},
            server=None,
            progress_url=lambda n: "",
            get_auth_state=get_auth_state,
        )
        hub = SimpleNamespace(public_host="", api_url="http://127.0.0.1:8081/hub/api", base_url="/hub/")
        return LTISwarmSpawner(user=owner, hub=hub, config=c, _deprecated_db_session=None)

    def start(self, user: str, constraints: list[str] | None = None) -> dict[str, Any]:
        """Start ``user``'s server as a service, wait for its setup; returns its task."""
        s = self.spawner(user, constraints)
        asyncio.run(s.start())
        self.spawners[user] = s
        deadline = time.monotonic() + 120
        while self.sh("root", user, f"test -f {READY}")[0] != 0:
            assert time.monotonic() < deadline, f"setup of {user} did not finish"
            time.sleep(0.2)
        return self.task(user)

    def task(self, user: str) -> dict[str, Any]:
        task = asyncio.run(self.spawners[user].get_task())
        assert task is not None and task["Status"]["State"] == "running", task
        return task

    def node(self, user: str) -> str:
        return str(self.task(user)["NodeID"])

    def sh(self, who: str, user: str, command: str) -> tuple[int, str]:
        """``sh -c command`` in ``user``'s task container, on the node that runs it, as ``who``."""
        task = self.task(user)
        api = self.swarm.engine_of(task["NodeID"]).client().api
        if who != "root":
            command = f"umask $(cat $HOME/.ipynb-tools/umask) && {command}"
        made = api.exec_create(
            task["Status"]["ContainerStatus"]["ContainerID"],
            ["sh", "-c", command],
            user=who,
            environment={"HOME": f"/home/{who}"} if who != "root" else None,
        )
        out = api.exec_start(made["Id"]).decode("utf-8", "replace")
        return api.exec_inspect(made["Id"])["ExitCode"], out

    def ok(self, who: str, user: str, command: str) -> str:
        code, out = self.sh(who, user, command)
        assert code == 0, f"{who}@{user}: {command}\n{out}"
        return out

    def put(self, user: str, path: str, data: bytes) -> None:
        task = self.task(user)
        api = self.swarm.engine_of(task["NodeID"]).client().api
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo(Path(path).name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
        assert api.put_archive(task["Status"]["ContainerStatus"]["ContainerID"], str(Path(path).parent), buf.getvalue())

    def stop(self, user: str) -> None:
        asyncio.run(self.spawners.pop(user).stop())

    def close(self) -> None:
        for user in list(self.spawners):
            with contextlib.suppress(Exception):  # best effort; the swarm is stopped at the session's end anyway
                self.stop(user)


@pytest.fixture(scope="module")
def swarm_image(docker_swarm: Swarm, tmp_path_factory: pytest.TempPathFactory) -> str:
    client = docker_swarm.manager.client()
    debian = images.debian_image(client)
    tag = images.course_image(client, debian, tmp_path_factory.mktemp("swarm-course-image"))
    docker_swarm.share_image(tag)  # no registry: docker save | docker load into the worker
    return tag


@pytest.fixture(scope="module")
def swarm_course(
    docker_swarm: Swarm, swarm_image: str, tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: Any
) -> Iterator[SwarmCourse]:
    monkeypatch_module.setattr(LTISwarmSpawner, "_client", docker.APIClient(base_url=docker_swarm.manager.url))
    course = SwarmCourse(docker_swarm, swarm_image, tmp_path_factory.mktemp("shared-root"))
    try:
        yield course
    finally:
        course.close()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def volumes_cli(swarm: Swarm, root: Path, *args: str) -> Any:
    base = ["--course", COURSE, "--host", HOST, "--engine-url", swarm.manager.url, "--swarm"]
    for worker in swarm.workers:
        base += ["--node-url", worker.url]
    return CliRunner().invoke(cli, ["volumes", *args, *base, "--shared-root", str(root)], catch_exceptions=False)


def test_a_course_over_two_nodes(docker_swarm: Swarm, swarm_course: SwarmCourse) -> None:
    course = swarm_course
    first, second = docker_swarm.node_ids
    # the teacher on the manager node, a student on the worker node
    assert course.start("tea", [f"node.id=={first}"])["NodeID"] == first
    course.put("tea", "/tmp/kadai-1.ipynb", json.dumps(NOTEBOOK).encode())
    course.ok("tea", "tea", f"cp /tmp/kadai-1.ipynb {works('tea')}/課題/ && cd {works('tea')}/課題 && ipynb_deploy .")
    assert course.start("alice", [f"node.id=={second}"])["NodeID"] == second

    # the teacher's deploy on node 1 is in the task volume and the student's copy on node 2
    listing = course.ok("alice", "alice", f"ls {works('alice')}/.volumes/{TASK}")
    assert "kadai-1.ipynb" in listing.split()
    mine = json.loads(course.ok("alice", "alice", f"cat {works('alice')}/作業/kadai-1.ipynb"))
    assert mine["cells"][0]["source"] == "x = 1"
    # the data is in the shared root, where both nodes' volumes point
    assert (course.root / TASK / "kadai-1.ipynb").exists()

    # a submission on node 2, read by the teacher on node 1
    out = course.ok("alice", "alice", f"cd {works('alice')}/作業 && ipynb_submit kadai-1.ipynb 提出")
    assert "kadai-1_" in out
    handed_in = json.loads(course.ok("tea", "tea", f"cat {works('tea')}/提出/kadai-1_alice.ipynb"))
    assert handed_in["cells"][0]["source"] == "x = 1"
    mode_owner = course.ok("root", "tea", f"stat -c '%a %u' {works('tea')}/提出/kadai-1_alice.ipynb")
    assert mode_owner.split() == ["640", "1002"]  # hers, closed to other students, as on one host

    # the service carries the spec: resources, environment, labels, mounts into the shared root
    service = docker_swarm.manager.client().api.inspect_service(course.spawners["alice"].service_name)
    template = service["Spec"]["TaskTemplate"]
    assert template["Resources"]["Limits"] == {"MemoryBytes": 300_000_000, "NanoCPUs": 500_000_000}
    assert template["Resources"]["Reservations"]["MemoryBytes"] == 50_000_000
    container = template["ContainerSpec"]
    assert "NB_USER=alice" in container["Env"] and container["User"] == "root"
    assert container["Labels"]["io.ipynb-tools.role"] == "student"
    assert service["Spec"]["Labels"]["io.ipynb-tools.course"] == COURSE
    mounts = {m["Source"]: m for m in container["Mounts"]}
    assert mounts[TASK]["VolumeOptions"]["DriverConfig"]["Options"]["device"] == str(course.root / TASK)
    assert mounts["jupyterhub-user-alice"]["Target"] == "/home/alice"

    # two more students, placed by the scheduler alone: one on each node
    course.start("bob")
    course.start("carol")
    assert {course.node("bob"), course.node("carol")} == {first, second}

    # volumes ls over the swarm: each volume once, held by both nodes, used by the four services
    listed = volumes_cli(docker_swarm, course.root, "ls", "--json")
    assert listed.exit_code == 0, listed.output
    data = json.loads(listed.stdout)
    assert {n["id"] for n in data["nodes"]} == {first, second}
    by_name = {v["full_name"]: v for v in data["volumes"]}
    assert sorted(by_name) == sorted([TASK, SUBMIT])
    task = by_name[TASK]
    assert {n["id"] for n in task["nodes"]} == {first, second}
    assert {s["name"] for s in task["services"]} == {course.spawners[u].service_name for u in USERS}
    assert task["shared"] is True
    text = volumes_cli(docker_swarm, course.root, "ls")
    assert text.stdout.count(TASK) == 1 and text.stdout.count(SUBMIT) == 1

    # rm refuses while any node's server uses the volume, and touches nothing
    refused = volumes_cli(docker_swarm, course.root, "rm", "py")
    assert refused.exit_code == 1
    assert "is in use by service" in refused.output and "nothing removed" in refused.output
    assert (course.root / SUBMIT / "kadai-1_alice.ipynb").exists()
    # a careless rm without --swarm (the manager's engine, the shared root) sees no other node's servers
    # and would take the data they work in: refused
    manager_only = ["--course", COURSE, "--host", HOST, "--engine-url", docker_swarm.manager.url]
    single = CliRunner().invoke(
        cli, ["volumes", "rm", "py", *manager_only, "--shared-root", str(course.root)], catch_exceptions=False
    )
    assert single.exit_code == 1 and "is a swarm node" in single.output and "use --swarm" in single.output
    assert (course.root / SUBMIT / "kadai-1_alice.ipynb").exists() and (course.root / TASK).is_dir()

    # the servers stop (the hub removes their services); then rm removes it from both nodes and its data
    for user in list(course.spawners):
        course.stop(user)
    deadline = time.monotonic() + 60
    while True:
        data = json.loads(volumes_cli(docker_swarm, course.root, "ls", "--json").stdout)
        if not any(v["in_use"] for v in data["volumes"]):
            break
        assert time.monotonic() < deadline, data
        time.sleep(0.5)
    # a container that is no service's (someone's docker run on the worker) still works in the task
    # volume: rm given only the manager cannot see it and refuses; given both nodes it names it
    worker = docker_swarm.workers[0].client()
    squatter = worker.containers.run(
        course.image,
        ["600"],
        entrypoint=["sleep"],
        detach=True,
        name="not-a-service",
        volumes={TASK: {"bind": "/data"}},
    )
    try:
        base = ["--course", COURSE, "--host", HOST, "--engine-url", docker_swarm.manager.url, "--swarm"]
        only_manager = CliRunner().invoke(
            cli, ["volumes", "rm", "py", *base, "--shared-root", str(course.root)], catch_exceptions=False
        )
        assert only_manager.exit_code == 1, only_manager.output
        assert "not every node's engine was given" in only_manager.output
        assert "nothing removed" in only_manager.output and "Traceback" not in only_manager.output
        assert (course.root / TASK).is_dir() and (course.root / SUBMIT / "kadai-1_alice.ipynb").exists()
        seen = volumes_cli(docker_swarm, course.root, "rm", "py")
        assert seen.exit_code == 1 and "not-a-service" in seen.output, seen.output
        assert (course.root / TASK).is_dir()
    finally:
        squatter.remove(force=True)
    removed = volumes_cli(docker_swarm, course.root, "rm", "py", "--json")
    assert removed.exit_code == 0, removed.output
    results = {r["full_name"]: r for r in json.loads(removed.stdout)}
    assert set(results[TASK]["removed_from"]) == {first, second}
    assert results[TASK]["directory_removed"] is True
    for engine in docker_swarm.engines:
        assert engine.client().volumes.list(filters={"name": f"_{COURSE}_{HOST}"}) == []
    assert not (course.root / TASK).exists() and not (course.root / SUBMIT).exists()
    assert (course.root / "jupyterhub-user-alice").is_dir()  # homes are not course volumes: kept
