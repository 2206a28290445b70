"""Execution logs end to end: a signed LTI launch, the student's container with a real kernel, cells of a
deployed notebook run over the kernel websocket through the hub's proxy, the collector as a hub service.

The rows land with the hub's user name, the launch's course and LTI id (``lms_sessioninfo``), the
notebook, codenum and status; the collector stopped mid-way (the hub restarts its managed
service) loses nothing and stores nothing twice.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from ipynb_tools.deploy import number_cells
from tests.execlog.browser import Browser
from tests.requirements import require_root, unavailable

from .hubrun import Hub, HubStartError, start_hub
from .test_e2e import COURSE, HOST, launch, wait_ready

pytestmark = [pytest.mark.slow, pytest.mark.engine, pytest.mark.root]
CELLS = ["x = 6 * 7\nprint(x)", "1 / 0", "y = x + 1"]


@pytest.fixture(scope="module")
def hub(docker_engine, debian_image, tmp_path_factory) -> Iterator[tuple[Hub, Path]]:
    require_root("the hub end-to-end test: containers that run setup as root, bind mounts")
    workdir = tmp_path_factory.mktemp("hub-execlog")
    db = workdir / "execlog.sqlite"
    try:
        running = start_hub(workdir, image=debian_image, docker_url=docker_engine.url, execlog_db=db)
    except HubStartError as exc:
        unavailable(str(exc))
    try:
        yield running, db
    finally:
        with contextlib.suppress(Exception):
            running.api("DELETE", "users/carol/server")
        running.stop()
        client = docker_engine.client()
        for container in client.containers.list(all=True, filters={"label": "io.ipynb-tools.user=carol"}):
            with contextlib.suppress(Exception):
                container.remove(force=True)
        for volume in client.volumes.list():
            labels = volume.attrs.get("Labels") or {}
            ours = labels.get("io.ipynb-tools.host") == HOST and labels.get("io.ipynb-tools.course") == COURSE
            if ours or volume.name == "ipt-e2e-home-carol":
                with contextlib.suppress(Exception):
                    volume.remove(force=True)


def rows(db: Path) -> list[tuple]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute(
                "SELECT s.username, ss.course, ss.lti_id, ss.inst_id, c.notebook, c.filename, c.codenum, s.status,"
                " s.ename FROM server_records s LEFT JOIN client_records c USING (session, message)"
                " LEFT JOIN sessions ss ON ss.session = s.session ORDER BY s.id"
            ).fetchall()
    except sqlite3.OperationalError:
        return []


def wait_rows(db: Path, count: int, timeout: float = 120) -> list[tuple]:
    deadline = time.monotonic() + timeout
    found = rows(db)
    while len(found) < count and time.monotonic() < deadline:
        time.sleep(0.5)
        found = rows(db)
    return found


def collector_pid(db: Path) -> int | None:
    """The hub-started collector: the process whose command line names this test's own store."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in cmdline and str(db).encode() in cmdline:
            return int(entry.name)
    return None


def test_cell_runs_of_a_launched_student_land_with_course_and_lti(hub: tuple[Hub, Path]) -> None:
    running, db = hub
    _session, response = launch(running, "carol", "Learner")
    assert response.status_code == 200, response.text[-2000:]
    wait_ready(running, "carol")
    token = running.api("POST", "users/carol/tokens", json={"note": "execlog e2e"}).json()["token"]
    auth = {"Authorization": f"token {token}"}
    base = f"{running.url}/user/carol"
    cells = [
        {"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": src, "outputs": [], "execution_count": None}
        for i, src in enumerate(CELLS, 1)
    ]
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    number_cells(nb, "kadai-1.ipynb")  # what ipynb_deploy writes
    put = requests.put(
        f"{base}/api/contents/kadai-1.ipynb",
        json={"type": "notebook", "format": "json", "content": nb},
        headers=auth,
        timeout=60,
    )
    assert put.status_code in (200, 201), put.text
    session = requests.post(
        f"{base}/api/sessions",
        json={"path": "kadai-1.ipynb", "type": "notebook", "name": "", "kernel": {"name": "python3"}},
        headers=auth,
        timeout=120,
    )
    assert session.status_code == 201, session.text
    kernel = session.json()["kernel"]["id"]
    browser = Browser(base, token, kernel, v1=True)
    assert browser.run(CELLS[0], "c1")["content"]["status"] == "ok"
    assert browser.run(CELLS[1], "c2")["content"]["ename"] == "ZeroDivisionError"
    found = wait_rows(db, 2)
    assert found == [
        ("carol", COURSE, "7", "3", "kadai-1.ipynb", "kadai-1.ipynb", 1, "ok", None),
        ("carol", COURSE, "7", "3", "kadai-1.ipynb", "kadai-1.ipynb", 2, "error", "ZeroDivisionError"),
    ], running.log_tail(40)

    # the collector stops mid-way; the hub restarts its managed service; nothing is lost
    pid = collector_pid(db)
    assert pid is not None
    config = (running.workdir / "jupyterhub_config.py").read_text()
    match = re.search(r'"name": "execlog",\s*"url": "http://127\.0\.0\.1:(\d+)"', config)
    assert match is not None
    port = int(match.group(1))
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            time.sleep(0.2)
            continue
        break
    assert browser.run(CELLS[2], "c3")["content"]["status"] == "ok"
    assert browser.run(CELLS[0], "c1")["content"]["status"] == "ok"
    browser.close()
    found = wait_rows(db, 4, timeout=180)
    assert len(found) == 4, (found, running.log_tail(40))
    assert [r[6] for r in found[2:]] == [3, 1] and {r[0] for r in found} == {"carol"}
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT message) FROM client_records").fetchone() == (4, 4)
