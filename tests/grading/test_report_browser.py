"""The report in a real headless browser: loads offline with no console error, four charts drawn.

Chromium is driven over its DevTools protocol on a loopback port (websocket-client,
a jupyter_server dependency). Network access is blocked for the browser, and
every request it makes is recorded: a self-contained report makes none but
its own file. A screenshot is kept in test-artifacts/.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from ipynb_tools.grading.report import build_report
from ipynb_tools.grading.samplelog import write_sample_log
from tests.requirements import unavailable

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHART_IDS = ["chart-ok-error", "chart-cells", "chart-users", "chart-progress"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    unavailable("chromium is not installed (scripts/install-system-deps.sh installs it)")


class DevTools:
    """A minimal DevTools-protocol client: send commands, collect events."""

    def __init__(self, ws_url: str) -> None:
        import websocket

        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {method} within {timeout}s")
            self.events.append(json.loads(self.ws.recv()))

    def close(self) -> None:
        self.ws.close()


def test_report_opens_offline_without_console_errors(course: Path, tmp_path: Path) -> None:
    browser = chromium()
    log = tmp_path / "log.jsonl"
    write_sample_log(log, ["alice", "bob", "carol", "dave", "eve"], codenums=range(1, 11))
    report = build_report(
        tmp_path / "report.html", submit_dir=course / "submit", task_dir=course / "task", log_paths=[log]
    ).path
    profile = tmp_path / "profile"
    proc = subprocess.Popen(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--window-size=1280,2000",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            assert proc.poll() is None, "chromium exited early"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            pages = [t for t in json.load(response) if t.get("type") == "page"]
        tools = DevTools(pages[0]["webSocketDebuggerUrl"])
        try:
            for domain in ("Page", "Runtime", "Log", "Network"):
                tools.call(f"{domain}.enable")
            tools.call("Page.navigate", url=report.as_uri())
            tools.wait_for("Page.loadEventFired")
            charts = tools.call(
                "Runtime.evaluate",
                returnByValue=True,
                expression=(
                    "Array.from(document.querySelectorAll('figure.chart')).map(f => "
                    "[f.id, f.querySelectorAll('svg').length, "
                    "Math.round(f.querySelector('svg').getBoundingClientRect().width)])"
                ),
            )["result"]["value"]
            links = tools.call(
                "Runtime.evaluate", returnByValue=True, expression="document.querySelectorAll('#notebooks a').length"
            )["result"]["value"]
            shot = tools.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
            ARTIFACTS.mkdir(exist_ok=True)
            (ARTIFACTS / "grading-report.png").write_bytes(base64.b64decode(shot["data"]))
        finally:
            tools.close()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    errors = [
        e
        for e in tools.events
        if e.get("method") == "Runtime.exceptionThrown"
        or (e.get("method") == "Runtime.consoleAPICalled" and e["params"].get("type") in ("error", "assert"))
        or (e.get("method") == "Log.entryAdded" and e["params"]["entry"].get("level") == "error")
    ]
    assert errors == []
    requests = [e["params"]["request"]["url"] for e in tools.events if e.get("method") == "Network.requestWillBeSent"]
    assert requests and all(url.startswith("file://") for url in requests), requests
    assert [c[0] for c in charts] == CHART_IDS
    assert all(count == 1 and width > 100 for _, count, width in charts), charts
    assert links == 4
