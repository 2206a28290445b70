"""Capture end to end with real parts: a jupyter_server with this package's extension and a real ipykernel,
cells of a deployed notebook executed over the kernel websocket as a browser does (both websocket
protocols, cell ids in the metadata), the collector checking the server's JupyterHub token with a
real hub. Then the collector goes away while cells run, the server restarts, the collector comes
back: every run arrives once.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from ipynb_tools.deploy import number_cells
from ipynb_tools.execlog.query import Filters, stats
from ipynb_tools.execlog.records import parse_date
from ipynb_tools.execlog.store import Launch, Store
from ipynb_tools.notebook import write_notebook
from tests.hub.hubrun import free_port

from .browser import Browser
from .hubservice import LightHub

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
V1 = "v1.kernel.websocket.jupyter.org"
CELLS = ["x = 1\nprint(x)", "1 / 0", "y = x + 1", "import nosuchmodule_ipt"]


def deployed_notebook(path: Path) -> list[str]:
    """A notebook numbered by deploy (filename:/codenum: tags); returns its code cells' ids."""
    cells = [
        {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": "# 課題"},
        *[
            {
                "cell_type": "code",
                "id": f"cell-{i}",
                "metadata": {},
                "source": src,
                "outputs": [],
                "execution_count": None,
            }
            for i, src in enumerate(CELLS, 1)
        ],
    ]
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    number_cells(nb, path.name)
    write_notebook(path, nb)
    return [c["id"] for c in cells if c["cell_type"] == "code"]


@dataclass
class Proc:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


def wait_http(proc: Proc, path: str, timeout: float = 60, ok: tuple[int, ...] = (200,)) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.process.poll() is not None:
            raise AssertionError(f"exited ({proc.process.returncode}):\n{proc.tail()}")
        try:
            if requests.get(proc.url + path, timeout=2).status_code in ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{proc.url} did not answer:\n{proc.tail()}")


def start_collector(workdir: Path, hub: LightHub, port: int, db: Path) -> Proc:
    log = workdir / f"collector-{time.monotonic_ns()}.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(BIN / "ipynb-tools"), "logs", "serve", "--db", str(db), "--listen", f"127.0.0.1:{port}",
             "--hub-api-url", hub.hub_api_url],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    proc = Proc(process, f"http://127.0.0.1:{port}", log)
    wait_http(proc, "/api/records", ok=(405,))
    return proc


def start_server(workdir: Path, root: Path, home: Path, token: str, collector: str, api_token: str) -> Proc:
    port = free_port()
    config = workdir / "jupyter-config"
    config.mkdir(exist_ok=True)
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"ipynb_tools.serverext": True}}})
    )
    env = {
        **os.environ,
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_RUNTIME_DIR": str(workdir / "runtime"),
        "IPYNB_EXECLOG_URL": collector,
        "JUPYTERHUB_API_TOKEN": api_token,
        "JUPYTERHUB_USER": "alice",
    }
    log = workdir / f"server-{time.monotonic_ns()}.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(BIN / "jupyter-server"), "--no-browser", "--ip=127.0.0.1", f"--port={port}",
             f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}", "--ServerApp.allow_root=True"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=root,
        )  # fmt: skip
    proc = Proc(process, f"http://127.0.0.1:{port}", log)
    wait_http(proc, f"/api/status?token={token}")
    return proc


@pytest.fixture
def course(tmp_path: Path) -> Iterator[dict]:
    root, home = tmp_path / "works", tmp_path / "home"
    root.mkdir()
    home.mkdir()
    ids = deployed_notebook(root / "kadai-1.ipynb")
    yield {"root": root, "home": home, "ids": ids, "work": tmp_path}


def execution_rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT c.notebook, c.filename, c.codenum, c.cell_id, s.status, s.ename, s.username"
            " FROM server_records s LEFT JOIN client_records c USING (session, message) ORDER BY s.id"
        ).fetchall()


def wait_rows(db: Path, count: int, timeout: float = 30) -> list[tuple]:
    deadline = time.monotonic() + timeout
    found: list[tuple] = []
    while time.monotonic() < deadline:
        if db.exists():
            try:
                found = execution_rows(db)
            except sqlite3.OperationalError:
                found = []
            if len(found) >= count and all(r[0] is not None or r[3] is None for r in found):
                return found
        time.sleep(0.3)
    return found


def test_cell_runs_reach_the_collector_and_survive_outages(course: dict, light_hub: LightHub) -> None:
    work, root, home, ids = course["work"], course["root"], course["home"], course["ids"]
    db = work / "collected.sqlite"
    port = free_port()
    alice = light_hub.user_token("alice")
    token = uuid.uuid4().hex
    collector = start_collector(work, light_hub, port, db)
    server = None
    try:
        with Store.open(db) as store:  # what the spawner records at the launch
            store.record_launch(Launch("alice", "98", "7", "3", parse_date("2024-01-01T00:00:00Z") or 0))
        server = start_server(work, root, home, token, f"http://127.0.0.1:{port}/", alice)
        auth = {"Authorization": f"token {token}"}
        session = requests.post(
            f"{server.url}/api/sessions",
            json={"path": "kadai-1.ipynb", "type": "notebook", "name": "", "kernel": {"name": "python3"}},
            headers=auth,
            timeout=60,
        ).json()
        kernel = session["kernel"]["id"]

        browser = Browser(server.url, token, kernel, v1=False)  # the JSON protocol (JupyterLab 3)
        assert browser.run(CELLS[0], ids[0])["content"]["status"] == "ok"
        reply = browser.run(CELLS[1], ids[1])
        assert (reply["content"]["status"], reply["content"]["ename"]) == ("error", "ZeroDivisionError")
        browser.run("z = 3", "added-by-student")  # a cell the deployed file does not have
        browser.run("w = 4", None)  # a client that sends no cell id
        browser.close()
        lab4 = Browser(server.url, token, kernel, v1=True)  # JupyterLab 4 / Notebook 7
        assert lab4.run(CELLS[2], ids[2])["content"]["status"] == "ok"
        lab4.close()

        rows = wait_rows(db, 5)
        assert rows == [
            ("kadai-1.ipynb", "kadai-1.ipynb", 1, ids[0], "ok", None, "alice"),
            ("kadai-1.ipynb", "kadai-1.ipynb", 2, ids[1], "error", "ZeroDivisionError", "alice"),
            ("kadai-1.ipynb", None, None, "added-by-student", "ok", None, "alice"),
            ("kadai-1.ipynb", None, None, None, "ok", None, "alice"),
            ("kadai-1.ipynb", "kadai-1.ipynb", 3, ids[2], "ok", None, "alice"),
        ]
        with Store.open(db, create=False) as store:
            figures = stats(store, Filters(course="98", lti="7")).to_json()
        assert (figures["executions"], figures["ok"], figures["error"], figures["users"]) == (5, 4, 1, 1)

        # the collector goes away; cells keep running; their records wait in the spool
        collector.stop()
        browser = Browser(server.url, token, kernel, v1=False)
        assert browser.run(CELLS[0], ids[0])["content"]["status"] == "ok"
        assert browser.run(CELLS[3], ids[3])["content"]["ename"] == "ModuleNotFoundError"
        browser.close()
        spool = home / ".ipynb-tools" / "execlog-spool"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and sum(len(p.read_bytes().splitlines()) for p in spool.glob("*.jsonl")) < 4:
            time.sleep(0.2)
        assert sum(len(p.read_bytes().splitlines()) for p in spool.glob("*.jsonl")) == 4  # 2 runs x 2 records
        # ... and the server restarts before the collector is back
        server.stop()
        collector = start_collector(work, light_hub, port, db)
        time.sleep(2)
        assert len(execution_rows(db)) == 5  # nothing could be sent while the server was down
        server = start_server(work, root, home, token, f"http://127.0.0.1:{port}/", alice)
        rows = wait_rows(db, 7)
        assert len(rows) == 7, rows
        assert rows[5:] == [
            ("kadai-1.ipynb", "kadai-1.ipynb", 1, ids[0], "ok", None, "alice"),
            ("kadai-1.ipynb", "kadai-1.ipynb", 4, ids[3], "error", "ModuleNotFoundError", "alice"),
        ]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and list(spool.glob("*.jsonl")):
            time.sleep(0.2)
        assert not list(spool.glob("*.jsonl"))  # delivered, so deleted
        with sqlite3.connect(db) as conn:  # none twice
            assert conn.execute("SELECT count(*), count(DISTINCT message) FROM client_records").fetchone() == (7, 7)
            assert conn.execute("SELECT count(source) FROM client_records").fetchone() == (0,)  # no source by default
    finally:
        if server is not None:
            server.stop()
        collector.stop()
