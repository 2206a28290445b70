"""The limit notices in a real browser (issue 16 item 7): JupyterLab 4 and Notebook 7, the server
extension and the labextension.

JupyterLab runs on loopback as installed by ``pip install -e .`` (the server extension enabled by its
config data file, the prebuilt labextension found as shared data) with a short activity limit.
Headless Chromium (the shared ``chromium`` fixture) opens a notebook in JupyterLab, and in Notebook 7,
edits it without saving, and must see the 90% toast, then the sticky "will stop at HH:MM" notice;
the server must stop by itself at limit + grace with the edit saved to disk, and the page must say
the server stopped.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.browser import artifact_dir
from tests.requirements import unavailable

pytestmark = [pytest.mark.slow]

#: Short enough for a test, long enough for JupyterLab to load in a busy CI browser first.
LIMIT, GRACE = 30, 15
EDIT = "# typed in the browser, never saved by hand"


def labextension_installed() -> bool:
    """The prebuilt labextension where JupyterLab looks for it (``share/jupyter/labextensions``)."""
    from jupyter_core.paths import jupyter_path

    return any((Path(p) / "ipynb-tools-limits" / "package.json").is_file() for p in jupyter_path("labextensions"))


@dataclass
class Lab:
    process: subprocess.Popen[bytes]
    url: str
    token: str
    root: Path
    log: Path
    started: float

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        unavailable("needs jupyterlab (pip install -e '.[test]')")
    assert labextension_installed(), "the labextension is not installed: make venv (npm + jupyter labextension build)"
    root = tmp_path / "works"
    root.mkdir()
    notebook = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [], "source": "x = 1"}
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (root / "work.ipynb").write_text(json.dumps(notebook))
    token = secrets.token_hex(16)
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NB_", "JUPYTERHUB_", "IPYNB_"))}
    env.update(
        HOME=str(tmp_path),
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_DATA_DIR=str(tmp_path / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        NB_ACTLIMIT=str(LIMIT),
        IPYNB_ACTLIMIT_GRACE=str(GRACE),
        TZ="UTC",
    )
    log = tmp_path / "lab.log"
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    started = time.monotonic()
    running = Lab(process, f"http://127.0.0.1:{port}", token, root, log, started)
    try:
        deadline = started + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(f"jupyter lab exited ({process.returncode}):\n{running.log_tail()}")
            try:
                if requests.get(f"{running.url}/api/status", params={"token": token}, timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, f"jupyter lab did not answer:\n{running.log_tail()}"
            time.sleep(0.3)
        yield running
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def test_labextension_is_listed_by_jupyter() -> None:
    """``pip install -e .`` (make venv) installs the prebuilt labextension: ``jupyter labextension list`` shows it."""
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        unavailable("needs jupyterlab (pip install -e '.[test]')")
    result = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"], capture_output=True, text=True, timeout=120
    )
    listing = result.stdout + result.stderr
    assert re.search(r"ipynb-tools-limits v\S+ enabled", listing, re.ASCII) or (
        "ipynb-tools-limits" in listing and "enabled" in listing
    ), listing


#: The front ends: JupyterLab 4's notebook page and Notebook 7's (served by the same server).
FRONT_ENDS = {"jupyterlab": "lab/tree/work.ipynb", "notebook7": "notebooks/work.ipynb"}


@pytest.mark.parametrize("front_end", list(FRONT_ENDS))
def test_notices_then_the_server_stops_with_the_edit_saved(chromium, lab: Lab, front_end: str) -> None:
    if front_end == "notebook7":
        try:
            import notebook  # noqa: F401
        except ImportError:
            unavailable("needs notebook 7 (pip install -e '.[test]')")
    shots = artifact_dir("limits", front_end)
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(f"{lab.url}/{FRONT_ENDS[front_end]}?token={lab.token}", wait_until="domcontentloaded")
        editor = page.locator(".jp-Notebook .jp-Cell .cm-content").first
        editor.wait_for(state="visible", timeout=90_000)
        editor.click()
        page.keyboard.press("End")
        page.keyboard.type("  " + EDIT)
        assert EDIT not in (lab.root / "work.ipynb").read_text()  # unsaved so far

        stop_hhmm = None
        toast = page.get_by_text("Your server has used 90% of its time limit")
        toast.wait_for(state="visible", timeout=(LIMIT + 5) * 1000)
        text = toast.inner_text()
        match = re.search(r"It will stop at (\d\d:\d\d)", text)
        assert match, text
        stop_hhmm = match.group(1)
        page.screenshot(path=str(shots / "limits-90-percent-toast.png"))

        sticky = page.get_by_text("Your server has reached its time limit and will stop at")
        sticky.wait_for(state="visible", timeout=20_000)
        assert f"will stop at {stop_hhmm}" in sticky.inner_text()
        elapsed = time.monotonic() - lab.started
        assert elapsed >= LIMIT - 1, f"the sticky notice came {elapsed:.1f} s after the start, before the limit"
        page.screenshot(path=str(shots / "limits-sticky-will-stop.png"))

        # the server stops by itself at limit + grace ...
        lab.process.wait(timeout=GRACE + 30)
        elapsed = time.monotonic() - lab.started
        assert elapsed >= LIMIT + GRACE - 1, f"stopped after {elapsed:.1f} s"
        log = lab.log.read_text(errors="replace")
        assert "activity limit and grace period over: stopping the server" in log, lab.log_tail()
        # ... with the browser's edit saved by the extension, and the sticky notice still shown
        saved = json.loads((lab.root / "work.ipynb").read_text())
        assert EDIT in "".join(saved["cells"][0]["source"]), saved["cells"][0]
        assert sticky.is_visible()
        page.get_by_text("Your server has stopped at its time limit").wait_for(state="visible", timeout=30_000)
        page.screenshot(path=str(shots / "limits-stopped.png"))
    finally:
        context.close()
