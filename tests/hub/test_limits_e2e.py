"""The activity limit in a real container, with the hub gone (issue 16 item 7).

A signed LTI launch with ``lms_actlimit=40`` and a 256 MiB ``lms_memlimit`` starts a student's
container on the private Docker engine. The server extension's endpoint (through the hub's proxy)
reads the container's own cgroup: its memory limit is the launch's, and a process that fills the
memory past 90% brings the memory notice. The hub is then stopped (its servers left running, as
in a hub restart), so only the container can enforce the limit: the server stops itself at limit +
grace, the container exits, and the student's file is on the home volume.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
import requests

from tests.requirements import require_root, unavailable

from .hubrun import Hub, HubStartError, moodle_fields, signed_launch, start_hub

pytestmark = [pytest.mark.slow, pytest.mark.engine, pytest.mark.root]

HOST = "limits.example.ac.jp"
COURSE = "96"
USER = "hanako"
LIMIT, GRACE = 40, 10
MEMLIMIT = 256 * 1024 * 1024
CUSTOM = {
    "lms_users": "*",
    "lms_actlimit": str(LIMIT),
    "lms_memlimit": str(MEMLIMIT),
    "lms_sessioninfo": "3,8",
}
#: The hub alone would stop nobody: the container must do it.
EXTRA_CONFIG = f"""
c.JupyterHub.cleanup_servers = False
c.LTIContainerSpawner.enforce_actlimit = False
c.LTIContainerSpawner.actlimit_grace = {GRACE}
"""


@pytest.fixture
def hub(docker_engine, debian_image, tmp_path_factory) -> Iterator[Hub]:
    require_root("containers that run setup as root, bind mounts")
    client = docker_engine.client()
    try:
        running = start_hub(
            tmp_path_factory.mktemp("hub"), image=debian_image, docker_url=docker_engine.url, extra_config=EXTRA_CONFIG
        )
    except HubStartError as exc:
        unavailable(str(exc))
    try:
        yield running
    finally:
        running.stop()
        for container in client.containers.list(all=True, filters={"label": f"io.ipynb-tools.host={HOST}"}):
            container.remove(force=True)
        with contextlib.suppress(Exception):  # best-effort cleanup
            client.volumes.get(f"ipt-e2e-home-{USER}").remove(force=True)


def wait_ready(hub: Hub, user: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while True:
        server = hub.api("GET", f"users/{user}").json().get("servers", {}).get("")
        if server and server.get("ready"):
            return
        assert time.monotonic() < deadline, f"{user}'s server not ready in {timeout} s:\n{hub.log_tail(60)}"
        time.sleep(0.5)


def docker_time(text: str) -> float:
    """Docker's RFC 3339 time with nanoseconds as epoch seconds."""
    head, _, frac = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(head + "+00:00").timestamp() + float("0." + (frac or "0"))


def test_container_stops_itself_at_limit_plus_grace_after_the_hub_is_gone(
    hub: Hub, docker_engine, debian_image
) -> None:
    client = docker_engine.client()
    session = requests.Session()
    url = f"{hub.url}/hub/lti/launch"
    body = signed_launch(url, moodle_fields(USER, "Learner", CUSTOM, course=COURSE, host=HOST))
    response = session.post(url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=120)
    assert response.status_code == 200, response.text[-2000:]
    wait_ready(hub, USER)
    [container] = client.containers.list(filters={"label": f"io.ipynb-tools.user={USER}"})
    # the engine removes the container when it exits (DockerSpawner's remove): follow its log meanwhile
    log_chunks: list[bytes] = []
    follower = threading.Thread(target=lambda: log_chunks.extend(container.logs(stream=True, follow=True)), daemon=True)
    follower.start()
    started_at = docker_time(container.attrs["State"]["StartedAt"])
    env = dict(item.split("=", 1) for item in container.attrs["Config"]["Env"])
    assert (env["NB_ACTLIMIT"], env["IPYNB_ACTLIMIT_GRACE"]) == (str(LIMIT), str(GRACE))
    assert container.attrs["HostConfig"]["Memory"] == MEMLIMIT

    # the server's own view, through the hub's proxy: the limits and the container's cgroup memory
    base = f"{hub.url}/user/{USER}"
    session.get(f"{base}/files/.probe", timeout=60)  # a page: the hub's OAuth gives the server's cookie
    answer = session.get(f"{base}/ipynb-tools/api/limits", timeout=60)
    assert answer.status_code == 200, answer.text[-2000:]
    state = answer.json()
    assert (state["limit"], state["grace"]) == (LIMIT, GRACE), state
    assert state["memory"]["limit"] == MEMLIMIT and 0 < state["memory"]["used"] < MEMLIMIT, state

    # fill the memory past 90% with a process of the user's: the memory notice comes
    fill = int(0.95 * MEMLIMIT) - state["memory"]["used"]
    container.exec_run(
        ["python3", "-c", f"import time; b = b'x' * {fill}; time.sleep(6)"], user=env["NB_UID"], detach=True
    )
    deadline = time.monotonic() + 20
    while True:
        state = session.get(f"{base}/ipynb-tools/api/limits", timeout=60).json()
        notices = [n for n in state["notices"] if n["id"].startswith("memory-90")]
        if notices:
            break
        assert time.monotonic() < deadline, state
        time.sleep(0.5)
    assert state["memory"]["fraction"] >= 0.9 and "of its memory limit" in notices[0]["message"], state

    # a file of the user's, then the hub goes away (its servers keep running: cleanup_servers = False)
    works = env["NB_WRKDIR"]
    result = container.exec_run(["sh", "-c", f"echo kept > {works}/kept.txt"], user=env["NB_UID"])
    assert result.exit_code == 0, result.output
    hub.stop()
    container.reload()
    assert container.status == "running"

    # the container stops itself at limit + grace
    outcome = container.wait(timeout=LIMIT + GRACE + 90)
    lived = time.time() - started_at
    follower.join(30)
    logs = b"".join(log_chunks).decode(errors="replace")
    assert "activity limit and grace period over: stopping the server" in logs, logs[-3000:]
    assert outcome["StatusCode"] == 0, logs[-3000:]
    assert LIMIT + GRACE <= lived < LIMIT + GRACE + 60, lived

    # the user's file is on the home volume
    home = f"ipt-e2e-home-{USER}"
    out = client.containers.run(
        debian_image,
        ["cat", f"{works}/kept.txt"],
        volumes={home: {"bind": env["NB_HOME"], "mode": "ro"}},
        remove=True,
    )
    assert out.decode().strip() == "kept"
