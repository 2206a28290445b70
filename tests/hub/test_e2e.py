"""End to end: JupyterHub + LTI 1.1 authenticator + LTIContainerSpawner + the private Docker engine.

A signed Moodle-style LTI 1.1 launch as a teacher and as a student (``custom_lms_*``), containers
on the host network (loopback only), ``setup`` at container start, the single-user server reached
through the hub's proxy, and a student's submit through the server extension's REST endpoint
landing in the submit volume. A launch with bad parameters is refused with a message.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.requirements import require_root, unavailable

from .hubrun import Hub, HubStartError, moodle_fields, signed_launch, start_hub

pytestmark = [pytest.mark.slow, pytest.mark.engine, pytest.mark.root]

HOST = "moodle.example.ac.jp"
COURSE = "98"
SUB = f"lms_sub_k1_{COURSE}_{HOST}"
SUB_CLOSED = f"lms_sub_k0_{COURSE}_{HOST}"
VOL = f"lms_vol_k1_{COURSE}_{HOST}"
CUSTOM = {
    "lms_teachers": "tanaka",
    "lms_users": "*",
    "lms_vol_k1": "課題1",
    "lms_sub_k1": "課題1提出用",
    "lms_prs_k1": "個人",
    "lms_sub_k0": "締切済み",
    "lms_sub_k0_close": "1700000000",
    "lms_memlimit": "536,870,912",
    "lms_cpulimit": "1.5",
    "lms_actlimit": "3600",
    "lms_defurl": "/tree",
    "lms_sessioninfo": "3,7",
}
NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "c1",
            "metadata": {},
            "outputs": [],
            "source": "print('こんにちは')",
        }
    ],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}


@pytest.fixture(scope="module")
def hub(docker_engine, debian_image, tmp_path_factory) -> Iterator[Hub]:
    require_root("containers that run setup as root, bind mounts")
    client = docker_engine.client()
    try:
        running = start_hub(tmp_path_factory.mktemp("hub"), image=debian_image, docker_url=docker_engine.url)
    except HubStartError as exc:
        unavailable(str(exc))
    try:
        yield running
    finally:
        for name in ("tanaka", "alice", "suzuki"):
            with contextlib.suppress(Exception):  # best-effort cleanup: the server may be gone already
                running.api("DELETE", f"users/{name}/server")
        running.stop()
        # only what this test made: its course's containers and volumes, the homes
        for container in client.containers.list(all=True, filters={"label": f"io.ipynb-tools.host={HOST}"}):
            if container.labels.get("io.ipynb-tools.course") == COURSE:
                container.remove(force=True)
        for volume in client.volumes.list():
            labels = volume.attrs.get("Labels") or {}
            ours = labels.get("io.ipynb-tools.host") == HOST and labels.get("io.ipynb-tools.course") == COURSE
            if ours or volume.name.startswith("ipt-e2e-home-"):
                with contextlib.suppress(Exception):  # best-effort cleanup
                    volume.remove(force=True)


def launch(
    hub: Hub, user: str, role: str, custom: dict[str, str] = CUSTOM
) -> tuple[requests.Session, requests.Response]:
    """A browser session after Moodle's signed LTI 1.1 launch form was posted to the hub."""
    session = requests.Session()
    url = f"{hub.url}/hub/lti/launch"
    body = signed_launch(url, moodle_fields(user, role, custom, course=COURSE, host=HOST))
    response = session.post(
        url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=120, allow_redirects=True
    )
    return session, response


def wait_ready(hub: Hub, user: str, timeout: float = 240) -> dict[str, Any]:
    """Wait until the hub says the user's server is ready (fail early when no spawn is going on)."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        model = hub.api("GET", f"users/{user}").json()
        server = model.get("servers", {}).get("")
        if server and server.get("ready"):
            return server
        if server is None and model.get("pending") is None and time.monotonic() > started + 20:
            raise AssertionError(f"{user}'s server is not starting:\n{hub.log_tail(60)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{user}'s server not ready in {timeout} s:\n{hub.log_tail(60)}")
        time.sleep(0.5)


def open_server(hub: Hub, session: requests.Session, user: str) -> None:
    """Open a page of the user's server in the browser session: the hub's OAuth gives the server's cookie.

    (``/files/`` is an authenticated page of plain jupyter_server; the test image has no JupyterLab.)
    """
    response = session.get(f"{hub.url}/user/{user}/files/.probe", timeout=60)
    visited = [r.url for r in response.history]
    assert any("/hub/api/oauth2/authorize" in url for url in visited), visited
    assert any(f"/user/{user}/oauth_callback" in url for url in visited), visited


def container_of(client, user: str):
    [container] = client.containers.list(filters={"label": f"io.ipynb-tools.user={user}"})
    return container


def run(container, *cmd: str, user: str = "root") -> str:
    result = container.exec_run(list(cmd), user=user)
    assert result.exit_code == 0, (cmd, result.output.decode(errors="replace"))
    return result.output.decode()


def check_container(container, user: str, *, teacher: bool) -> dict[str, str]:
    """Volumes, environment, limits, labels, network of a started container."""
    attrs = container.attrs
    env = dict(item.split("=", 1) for item in attrs["Config"]["Env"])
    host_config = attrs["HostConfig"]
    works = f"/home/{user}/jupyter/works/.volumes"
    assert container.name.startswith(f"jupyterhub-{COURSE}-7-{HOST}-") and container.name.endswith(f"-{user}")
    assert attrs["Config"]["User"] == "root"
    assert host_config["NetworkMode"] == "host"
    assert host_config["Memory"] == 536_870_912
    assert host_config["CpuQuota"] == 150_000 and host_config["CpuPeriod"] == 100_000
    binds = {(m["Name"] if m["Type"] == "volume" else m["Source"]): m["Destination"] for m in attrs["Mounts"]}
    assert binds[VOL] == f"{works}/{VOL}"
    assert binds[SUB] == f"{works}/{SUB}"
    # after lms_sub_k0_close a student's container does not get that submit volume (issue 16 item 1)
    assert binds.get(SUB_CLOSED) == (f"{works}/{SUB_CLOSED}" if teacher else None)
    assert binds[f"ipt-e2e-home-{user}"] == f"/home/{user}"
    assert env["NB_USER"] == user
    assert env["NB_TEACHER"] == (user if teacher else "")
    assert env["NB_UMASK"] == ("0033" if teacher else "0037")
    assert env["NB_VOLUMES"] == f".volumes/{VOL}:課題1"
    closed = f" .volumes/{SUB_CLOSED}:締切済み" if teacher else ""
    assert env["NB_SUBMITS"] == f".volumes/{SUB}:課題1提出用{closed}"
    assert env["NB_PRSNALS"] == f".volumes/lms_prs_k1_{COURSE}_{HOST}:個人"
    assert env["NB_SUBMITS_CLOSE"] == (f"{SUB_CLOSED}=1700000000" if teacher else "")
    assert env["NB_ACTLIMIT"] == "3600"
    # a stable uid: uid_base (21000 in this hub) + the LMS user_id of the launch, not the hub's row id
    assert env["NB_UID"] == str(21000 + int(moodle_fields(user, "", {})["user_id"]))
    assert (env["NB_GID"], env["NB_GROUP"]) == ("100", "users")
    # the old spawner's other variables (SPEC 12)
    assert env["NB_DIR"] == env["NB_HOME"] == f"/home/{user}"
    assert (env["NB_HOSTNAME"], env["LTI_CTR_ID"], env["LTI_ID"]) == (HOST, "3", "7")
    assert env["JUPYTERHUB_USER"] == user
    assert env["JUPYTERHUB_DEFAULT_URL"] == "/tree"
    assert env["JUPYTERHUB_SERVICE_URL"].startswith("http://127.0.0.1:")
    labels = attrs["Config"]["Labels"]
    assert labels["io.ipynb-tools.role"] == ("teacher" if teacher else "student")
    assert labels["io.ipynb-tools.course"] == COURSE and labels["io.ipynb-tools.host"] == HOST
    return env


def check_setup_ran(container, user: str, *, teacher: bool) -> None:
    works = f"/home/{user}/jupyter/works"
    assert run(container, "cat", f"/home/{user}/.ipynb-tools/umask").strip() == ("0033" if teacher else "0037")
    log = run(container, "cat", f"/home/{user}/.ipynb-tools/setup.log")
    assert "FAILED" not in log, log
    assert run(container, "readlink", f"{works}/課題1提出用").strip() == f".volumes/{SUB}"
    assert run(container, "stat", "-c", "%a %g", f"{works}/.volumes/{SUB}").strip() == "3777 7000"
    assert (
        run(container, "stat", "-c", "%a %U", f"{works}/.volumes/lms_prs_k1_{COURSE}_{HOST}").strip() == f"700 {user}"
    )
    groups = run(container, "id", "-nG", user).split()
    assert ("teachers" in groups) == teacher
    # the server runs as the user, with the role's umask applied by the server extension; with an
    # activity limit (the site default 6000 s here) it runs under root's `timeout` (PID 1), which the
    # user cannot signal, so a student who turns the server extension off is still stopped
    assert run(container, "cat", "/proc/1/comm").strip() == "timeout"
    assert run(container, "stat", "-c", "%u", "/proc/1").strip() == "0"
    listing = run(container, "sh", "-c", "for d in /proc/[0-9]*; do echo ${d#/proc/} $(awk '{print $4}' $d/stat); done")
    server = next(
        pid for pid, ppid in (line.split() for line in listing.splitlines() if line.count(" ") == 1) if ppid == "1"
    )
    status = run(container, "cat", f"/proc/{server}/status")
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    assert fields["Uid"].split()[0] == run(container, "id", "-u", user).strip()
    assert fields["Umask"].strip() == ("0033" if teacher else "0037")


def test_lti_launch_teacher_and_student_submit(hub: Hub, docker_engine) -> None:
    client = docker_engine.client()
    started = time.monotonic()

    # -- teacher --------------------------------------------------------------------------
    session, response = launch(hub, "tanaka", "Instructor,urn:lti:instrole:ims/lis/Administrator")
    assert response.status_code == 200, response.text[-2000:]
    wait_ready(hub, "tanaka")
    assert "launch of tanaka as teacher (listed in lms_teachers)" in hub.log_path.read_text(errors="replace")
    teacher = container_of(client, "tanaka")
    check_container(teacher, "tanaka", teacher=True)
    check_setup_ran(teacher, "tanaka", teacher=True)
    open_server(hub, session, "tanaka")
    status = session.get(f"{hub.url}/user/tanaka/api/status", timeout=60)
    assert status.status_code == 200, status.text[-1000:]
    assert "started" in status.json()
    volume = client.volumes.get(SUB)
    assert volume.attrs["Labels"]["io.ipynb-tools.kind"] == "sub"

    # -- student --------------------------------------------------------------------------
    session, response = launch(hub, "alice", "Learner")
    assert response.status_code == 200, response.text[-2000:]
    wait_ready(hub, "alice")
    student = container_of(client, "alice")
    env = check_container(student, "alice", teacher=False)
    check_setup_ran(student, "alice", teacher=False)

    base = f"{hub.url}/user/alice"
    open_server(hub, session, "alice")
    assert session.get(f"{base}/api/status", timeout=60).status_code == 200
    xsrf = session.cookies.get("_xsrf", path="/user/alice/")
    headers = {"X-XSRFToken": xsrf} if xsrf else {}
    if not xsrf:  # no page gave the cookie yet: use a token of the student's own
        token = hub.api("POST", "users/alice/tokens", json={"note": "e2e"}).json()["token"]
        headers = {"Authorization": f"token {token}"}

    put = session.put(
        f"{base}/api/contents/kadai-1.ipynb",
        headers=headers,
        timeout=60,
        data=json.dumps({"type": "notebook", "format": "json", "content": NOTEBOOK}),
    )
    assert put.status_code in (200, 201), put.text
    targets = session.get(f"{base}/ipynb-tools/api/targets", headers=headers, timeout=60).json()["targets"]
    assert {t["access"]: t["closed"] for t in targets} == {"課題1提出用": False}  # the closed one is not mounted

    closed = session.post(
        f"{base}/ipynb-tools/api/submit",
        headers=headers,
        timeout=60,
        data=json.dumps({"path": "kadai-1.ipynb", "target": "締切済み"}),
    )
    assert closed.status_code == 404 and "unknown submit target" in closed.json()["message"], closed.text
    assert "締切済み" not in run(student, "ls", "/home/alice/jupyter/works/")

    submitted = session.post(
        f"{base}/ipynb-tools/api/submit",
        headers=headers,
        timeout=60,
        data=json.dumps({"path": "kadai-1.ipynb", "target": "課題1提出用"}),
    )
    assert submitted.status_code == 201, submitted.text
    receipt = submitted.json()["receipt"]
    assert receipt["name"] == "kadai-1_alice.ipynb" and receipt["user"] == "alice"

    # the copy is in the submit volume itself, owned by the student, group teachers, 0640
    listing = client.containers.run(
        teacher.image.id,
        ["sh", "-c", "stat -c '%n %u %g %a' /v/*.ipynb && sha256sum /v/kadai-1_alice.ipynb"],
        volumes={SUB: {"bind": "/v", "mode": "ro"}},
        network_mode="none",
        remove=True,
    ).decode()
    assert f"/v/kadai-1_alice.ipynb {env['NB_UID']} 7000 640" in listing
    assert receipt["sha256"] in listing

    listed = session.get(f"{base}/ipynb-tools/api/submissions", headers=headers, timeout=60).json()
    assert [s["name"] for s in listed["submissions"]] == ["kadai-1_alice.ipynb"]
    assert listed["receipts"][-1]["sha256"] == receipt["sha256"]

    # the teacher sees the student's copy (group teachers, read)
    assert "kadai-1_alice.ipynb" in run(teacher, "ls", "/home/tanaka/jupyter/works/課題1提出用/", user="tanaka")
    print(f"end-to-end launch/submit took {time.monotonic() - started:.1f} s")


def test_an_instructor_not_in_lms_teachers_is_a_student_and_the_start_page_says_why(hub: Hub, docker_engine) -> None:
    """Issue 16 item 5: the old rule by default; the hub's start page (progress events) names the rule."""
    session, response = launch(hub, "suzuki", "Instructor")
    assert response.status_code == 200, response.text[-2000:]
    progress = session.get(
        f"{hub.url}/hub/api/users/suzuki/server/progress", timeout=240, headers={"Accept": "text/event-stream"}
    ).text
    assert "You start as a student (not a teacher by lms_teachers)." in progress, progress[-2000:]
    wait_ready(hub, "suzuki")
    container = container_of(docker_engine.client(), "suzuki")
    env = dict(item.split("=", 1) for item in container.attrs["Config"]["Env"])
    assert env["NB_TEACHER"] == "" and container.labels["io.ipynb-tools.role"] == "student"
    log = hub.log_path.read_text(errors="replace")
    assert "launch of suzuki as student" in log
    hub.api("DELETE", "users/suzuki/server")


def test_launch_with_bad_parameters_is_refused(hub: Hub, docker_engine) -> None:
    session, response = launch(hub, "bob", "Learner", {**CUSTOM, "lms_memlimit": "100"})
    deadline = time.monotonic() + 30
    text = response.text
    while "memory limit 100 bytes" not in text and time.monotonic() < deadline:
        time.sleep(0.5)
        text = (
            session.get(f"{hub.url}/hub/spawn-pending/bob", timeout=30).text
            + session.get(
                f"{hub.url}/hub/api/users/bob/server/progress", timeout=30, headers={"Accept": "text/event-stream"}
            ).text
        )
    assert "memory limit 100 bytes" in text, text[-2000:]
    assert not docker_engine.client().containers.list(filters={"label": "io.ipynb-tools.user=bob"})
