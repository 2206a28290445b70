"""A real JupyterHub with the console as a hub-managed service (OAuth), for the console's browser tests.

The hub: LTI 1.1 authenticator (signed launches as Moodle sends them, tests/hub/hubrun.py),
``auth_state`` on, the launches recorded by the console's ``post_auth_hook``
(:func:`ipynb_tools.console.launches.launch_recorder`), ``hubadmin`` a hub admin, real single-user
servers started as local processes (JupyterHub's ``SimpleLocalProcessSpawner`` running
``jupyterhub-singleuser``), so the Users and My server pages stop real servers. The console:
``ipynb-tools console --db ...`` started by the hub with its ``JUPYTERHUB_*`` environment and the
role docs/console.md gives it. Everything on 127.0.0.1, CHP from scripts/install-chp.sh.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.hub.hubrun import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    LOOPBACK_HUB_CONFIG,
    HubStartError,
    chp_command,
    free_port,
    moodle_fields,
    signed_launch,
)

HOST = "moodle.example.ac.jp"
ADMIN = "hubadmin"

CONFIG = (
    LOOPBACK_HUB_CONFIG
    + """
c.JupyterHub.cleanup_servers = True
# the tests land on the console after the launch (a site links to it instead: docs/console.md)
c.JupyterHub.default_url = "/services/console/"

c.JupyterHub.authenticator_class = "ltiauthenticator.lti11.auth.LTI11Authenticator"
c.LTI11Authenticator.consumers = {{{key!r}: {secret!r}}}
c.LTI11Authenticator.username_key = "ext_user_username"
c.Authenticator.enable_auth_state = True
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {{{admin!r}}}

# docs/console.md: every LTI launch recorded for the console
from ipynb_tools.console.launches import launch_recorder
c.Authenticator.post_auth_hook = launch_recorder({db!r})

# real single-user servers as local processes (the tests need servers to stop, not containers)
c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
c.SimpleLocalProcessSpawner.home_dir_template = "{workdir}/homes/{{username}}"
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.args = ["--allow-root"]
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
c.JupyterHub.allow_named_servers = True

# docs/console.md: the console as a hub-managed service with the hub's OAuth
c.JupyterHub.services = [
    {{"name": "tests", "api_token": {token!r}}},
    {{
        "name": "console",
        "url": "http://127.0.0.1:{console_port}",
        "command": {command!r},
        "oauth_no_confirm": True,
        "api_token": {console_token!r},
        "environment": {environment!r},
    }},
]
c.JupyterHub.load_roles = [
    {{"name": "tests-admin", "scopes": ["admin:users", "admin:servers", "tokens"], "services": ["tests"]}},
    {{
        "name": "console",
        "scopes": ["list:users", "read:users", "read:servers", "servers"],
        "services": ["console"],
    }},
    {{"name": "user", "scopes": ["self", "access:services!service=console"]}},
]
"""
)


@dataclass
class ConsoleHub:
    """A running hub + console: ``url`` (public, the proxy), ``console_url`` (public, under the proxy),
    ``token`` (the tests' admin service token), ``db`` (the launches and execution-log store)."""

    process: subprocess.Popen[bytes]
    url: str
    token: str
    db: str
    workdir: Path
    log_path: Path
    console_token: str = ""

    @property
    def console_url(self) -> str:
        return f"{self.url}/services/console/"

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        import requests

        headers = {"Authorization": f"token {self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.url}/hub/api/{path.lstrip('/')}", headers=headers, timeout=60, **kwargs)

    def launch_form(self, user: str, role: str, custom: dict[str, str], *, course: str, link: str = "7") -> str:
        """An HTML page whose form posts Moodle's signed LTI 1.1 launch to the hub when loaded."""
        import html

        url = f"{self.url}/hub/lti/launch"
        fields = moodle_fields(user, role, custom, course=course, link=link, host=HOST)
        body = signed_launch(url, fields, key=CONSUMER_KEY, secret=CONSUMER_SECRET)
        inputs = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in urllib.parse.parse_qsl(body, keep_blank_values=True)
        )
        return (
            f'<html><body><form id="lti" method="post" action="{html.escape(url)}">{inputs}</form>'
            '<script>document.getElementById("lti").submit()</script></body></html>'
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def console_command(db: str, extra: list[str]) -> list[str]:
    """The service's command: this venv's ``ipynb-tools console``."""
    return [str(Path(sys.executable).with_name("ipynb-tools")), "console", "--db", db, *extra]


def start_console_hub(
    workdir: Path,
    *,
    console_args: list[str] | None = None,
    environment: dict[str, str] | None = None,
    timeout: float = 90,
) -> ConsoleHub:
    """Start the hub (and, through it, the console) and wait until both answer."""
    import requests

    port, hub_port, api_port, console_port = free_port(), free_port(), free_port(), free_port()
    token = os.urandom(16).hex()
    console_token = os.urandom(16).hex()
    db = f"sqlite:///{workdir}/console.sqlite"
    (workdir / "homes").mkdir(exist_ok=True)
    config = CONFIG.format(
        port=port,
        hub_port=hub_port,
        proxy_api_port=api_port,
        chp=chp_command(),
        workdir=workdir,
        key=CONSUMER_KEY,
        secret=CONSUMER_SECRET,
        admin=ADMIN,
        db=db,
        singleuser=str(Path(sys.executable).with_name("jupyterhub-singleuser")),
        token=token,
        console_port=console_port,
        console_token=console_token,
        command=console_command(db, console_args or []),
        environment={"IPYNB_TOOLS_TIMEZONE": "Asia/Tokyo", **(environment or {})},
    )
    (workdir / "jupyterhub_config.py").write_text(config)
    env = {
        **os.environ,
        "JUPYTERHUB_CRYPT_KEY": os.urandom(32).hex(),
        "CONFIGPROXY_AUTH_TOKEN": os.urandom(16).hex(),
    }
    log_path = workdir / "jupyterhub.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("jupyterhub")), "-f", str(workdir / "jupyterhub_config.py"), "--debug"],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    hub = ConsoleHub(process, f"http://127.0.0.1:{port}", token, db, workdir, log_path, console_token)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise HubStartError(f"jupyterhub exited ({process.returncode}):\n{hub.log_tail()}")
        try:
            up = requests.get(f"{hub.url}/hub/api/", timeout=2).status_code == 200
            # the console answers an anonymous visitor with the redirect to the hub's login
            if up and requests.get(hub.console_url, timeout=2, allow_redirects=False).status_code == 302:
                return hub
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            hub.stop()
            raise HubStartError(f"jupyterhub or the console did not answer in {timeout} s:\n{hub.log_tail()}")
        time.sleep(0.3)
