"""A real JupyterHub spawning LTI launches as services on a real two-node swarm (LTISwarmSpawner).

The hub of ``tests/hub/hubrun.py`` (LTI 1.1, configurable-http-proxy, the jupyterhub-singleuser
site mounted read-only) with ``spawner_class = LTISwarmSpawner`` talking to the manager of the
``docker_swarm`` fixture; volumes on a shared root both nodes see. The teacher's launch lands on
one node, the student's on the other (the scheduler puts a task on the node with fewer), both
servers are reached through the hub's proxy, the student hands in through her server's REST
endpoint, and the teacher's container on the other node lists the submission.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engine import images
from tests.engine.swarm import Swarm
from tests.requirements import require_root, unavailable

from .hubrun import Hub, HubStartError, start_hub
from .test_e2e import COURSE, NOTEBOOK, SUB, launch, open_server, wait_ready

pytestmark = [pytest.mark.slow, pytest.mark.engine, pytest.mark.root]


@pytest.fixture(scope="module")
def swarm_hub(docker_swarm: Swarm, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, Path]]:
    require_root("containers that run setup as root, bind mounts")
    image = images.debian_image(docker_swarm.manager.client())
    docker_swarm.share_image(image)  # no registry: save | load into the worker
    root = tmp_path_factory.mktemp("swarm-hub-shared")
    extra = (
        "\n# tests/hub/test_swarm_hub.py: the same hub on a two-node swarm (docs/swarm.md)\n"
        'c.JupyterHub.spawner_class = "ipynb_tools.hub.swarm.LTISwarmSpawner"\n'
        f"c.LTISwarmSpawner.shared_volume_root = {str(root)!r}\n"
    )
    try:
        hub = start_hub(
            tmp_path_factory.mktemp("swarm-hub"), image=image, docker_url=docker_swarm.manager.url, extra_config=extra
        )
    except HubStartError as exc:
        unavailable(str(exc))
    try:
        yield hub, root
    finally:
        for name in ("tanaka", "alice"):
            with contextlib.suppress(Exception):  # best effort: the server may be gone already
                hub.api("DELETE", f"users/{name}/server")
        hub.stop()
        client = docker_swarm.manager.client()
        for service in client.services.list(filters={"label": f"io.ipynb-tools.course={COURSE}"}):
            with contextlib.suppress(Exception):  # best effort: the swarm is stopped at the session's end
                service.remove()


def task_of(swarm: Swarm, user: str) -> dict[str, Any]:
    client = swarm.manager.client()
    [service] = client.services.list(filters={"label": f"io.ipynb-tools.user={user}"})
    [task] = [t for t in service.tasks() if t["DesiredState"] == "running"]
    return task


def run_on_node(swarm: Swarm, task: dict[str, Any], *cmd: str, user: str = "root") -> str:
    container = (
        swarm.engine_of(task["NodeID"]).client().containers.get(task["Status"]["ContainerStatus"]["ContainerID"])
    )
    result = container.exec_run(list(cmd), user=user)
    assert result.exit_code == 0, (cmd, result.output.decode(errors="replace"))
    return str(result.output.decode())


def test_hub_launches_land_on_both_nodes_and_share_the_course(docker_swarm: Swarm, swarm_hub) -> None:
    hub, root = swarm_hub
    teacher_session, response = launch(hub, "tanaka", "Instructor")
    assert response.status_code == 200, response.text[-2000:]
    wait_ready(hub, "tanaka")
    open_server(hub, teacher_session, "tanaka")
    teacher = task_of(docker_swarm, "tanaka")

    session, response = launch(hub, "alice", "Learner")
    assert response.status_code == 200, response.text[-2000:]
    wait_ready(hub, "alice")
    student = task_of(docker_swarm, "alice")
    assert {teacher["NodeID"], student["NodeID"]} == set(docker_swarm.node_ids)  # one server on each node

    log = run_on_node(docker_swarm, student, "cat", "/home/alice/.ipynb-tools/setup.log")
    assert "FAILED" not in log, log
    base = f"{hub.url}/user/alice"
    open_server(hub, session, "alice")
    assert session.get(f"{base}/api/status", timeout=60).status_code == 200
    token = hub.api("POST", "users/alice/tokens", json={"note": "swarm"}).json()["token"]
    headers = {"Authorization": f"token {token}"}
    put = session.put(
        f"{base}/api/contents/kadai-1.ipynb",
        headers=headers,
        timeout=60,
        data=json.dumps({"type": "notebook", "format": "json", "content": NOTEBOOK}),
    )
    assert put.status_code in (200, 201), put.text
    submitted = session.post(
        f"{base}/ipynb-tools/api/submit",
        headers=headers,
        timeout=60,
        data=json.dumps({"path": "kadai-1.ipynb", "target": "課題1提出用"}),
    )
    assert submitted.status_code == 201, submitted.text

    # the teacher, on the other node, sees the hand-in; it is in the shared root
    listing = run_on_node(docker_swarm, teacher, "ls", "/home/tanaka/jupyter/works/課題1提出用/", user="tanaka")
    assert "kadai-1_alice.ipynb" in listing
    assert (root / SUB / "kadai-1_alice.ipynb").is_file()
    assert (root / "ipt-e2e-home-alice").is_dir()  # the home too is on the shared root
