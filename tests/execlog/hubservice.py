"""A real JupyterHub (no spawning: the dummy authenticator) with the collector as a hub-managed service.

The hub issues real tokens for its users (``POST /hub/api/users/<name>/tokens`` with an admin
service token); the collector (``ipynb-tools logs serve``) is started by the hub with its
``JUPYTERHUB_*`` environment and checks tokens with the hub's API (HubAuth). CHP from
``scripts/install-chp.sh``, everything on 127.0.0.1.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.hub.hubrun import LOOPBACK_HUB_CONFIG, HubStartError, chp_command, free_port

#: The old proxy's web-service token the collector service accepts.
WSTOKEN = "0123456789abcdef0123456789abcdef"

CONFIG = (
    LOOPBACK_HUB_CONFIG
    + """
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
# docs/execlog.md: the collector as a JupyterHub-managed service
c.JupyterHub.services = [
    {{"name": "admin", "api_token": {token!r}}},
    {{
        "name": "execlog",
        "url": "http://127.0.0.1:{collector_port}",
        "command": [{program!r}, "logs", "serve", "--db", {db!r},
                    "--wstoken-file", {wstoken_file!r}],
        "display": False,
    }},
]
c.JupyterHub.load_roles = [
    {{"name": "admin-svc", "scopes": ["admin:users", "tokens", "read:users"], "services": ["admin"]}},
]
"""
)


@dataclass
class LightHub:
    """The hub (``url`` public, through CHP), the admin token, the collector's URL, its store (path, URL)."""

    process: subprocess.Popen[bytes]
    url: str
    token: str
    collector_url: str
    db: str
    log_path: Path
    hub_api_url: str

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        import requests

        headers = {"Authorization": f"token {self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.url}/hub/api/{path.lstrip('/')}", headers=headers, timeout=30, **kwargs)

    def user_token(self, name: str) -> str:
        """A token the hub issues for ``name`` (created when missing)."""
        self.api("POST", f"users/{name}")
        reply = self.api("POST", f"users/{name}/tokens", json={"note": "execlog test"})
        reply.raise_for_status()
        return str(reply.json()["token"])

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_light_hub(workdir: Path, wstoken: str, timeout: float = 60, *, db: str | None = None) -> LightHub:
    """Start the hub and wait until both it and its collector service answer.

    ``db``: the collector's store (a SQLAlchemy URL); default a SQLite file in ``workdir``.
    """
    import requests

    port, hub_port, api_port, collector_port = free_port(), free_port(), free_port(), free_port()
    token = os.urandom(16).hex()
    db = db or str(workdir / "execlog.sqlite")
    wstoken_file = workdir / "wstoken"
    wstoken_file.write_text(wstoken + "\n")
    wstoken_file.chmod(0o600)
    config = CONFIG.format(
        port=port,
        hub_port=hub_port,
        proxy_api_port=api_port,
        chp=chp_command(),
        workdir=workdir,
        token=token,
        collector_port=collector_port,
        program=str(Path(sys.executable).with_name("ipynb-tools")),
        db=db,
        wstoken_file=str(wstoken_file),
    )
    (workdir / "jupyterhub_config.py").write_text(config)
    env = {**os.environ, "CONFIGPROXY_AUTH_TOKEN": os.urandom(16).hex()}
    log_path = workdir / "jupyterhub.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("jupyterhub")), "-f", str(workdir / "jupyterhub_config.py")],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    hub = LightHub(
        process,
        f"http://127.0.0.1:{port}",
        token,
        f"http://127.0.0.1:{collector_port}",
        db,
        log_path,
        f"http://127.0.0.1:{hub_port}/hub/api",
    )
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise HubStartError(f"jupyterhub exited ({process.returncode}):\n{hub.log_tail()}")
        try:
            up = requests.get(f"{hub.url}/hub/api/", timeout=2).status_code == 200
            if up and requests.post(f"{hub.collector_url}/services/execlog/api/records", timeout=2).status_code == 401:
                return hub
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            hub.stop()
            raise HubStartError(f"jupyterhub or its collector did not answer in {timeout} s:\n{hub.log_tail()}")
        time.sleep(0.3)
