"""Helpers of the end-to-end hub test: single-user Python packages, free ports, signed LTI 1.1
launches, and a JupyterHub process with the LTI 1.1 authenticator and LTIContainerSpawner.

The single-user containers use the engine fixture's registry-free Debian bookworm image
(python3 3.11) and get their Python packages by bind mounts: jupyterhub + jupyter_server + click
installed with ``pip install --target`` into the test cache once (same CPython minor, same
Debian), and this repository's source (``PYTHONPATH``), read-only. The server extension is enabled
by the repository's own ``jupyter-config`` data file (``JUPYTER_CONFIG_PATH``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.engine import images

REPO = Path(__file__).resolve().parents[2]
CONSUMER_KEY = "moodle-e2e"
CONSUMER_SECRET = "s3cret-e2e"
IN_CONTAINER_SRC = "/opt/ipynb-tools/src"
IN_CONTAINER_SITE = "/opt/ipynb-tools/site"


class HubStartError(RuntimeError):
    """JupyterHub (or what it needs) could not be started."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def singleuser_site() -> Path:
    """``<cache>/singleuser-site-<versions>``: jupyterhub, jupyter_server, ipykernel (a real kernel), click, xxhash."""
    import ipykernel
    import jupyter_server
    import jupyterhub
    import xxhash

    cache = images.cache_dir()
    wanted = [
        f"jupyterhub=={jupyterhub.__version__}",
        f"jupyter_server=={jupyter_server.__version__}",
        f"ipykernel=={ipykernel.__version__}",
        "click",
        f"xxhash=={xxhash.VERSION}",  # the sync record's digest (setup syncs in the container)
    ]
    target = cache / (
        f"singleuser-site-jh{jupyterhub.__version__}-js{jupyter_server.__version__}-ik{ipykernel.__version__}"
        f"-xx{xxhash.VERSION}"
    )
    with images._locked(cache / "singleuser-site.lock"):
        if (target / "jupyterhub" / "singleuser").is_dir():
            return target
        work = Path(tempfile.mkdtemp(prefix="singleuser-site.", dir=cache))
        try:
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--no-warn-script-location",
                    "--target",
                    str(work / "site"),
                    *wanted,
                ],
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise HubStartError(
                    "pip install of the single-user packages failed: "
                    + " | ".join((result.stdout + result.stderr).strip().splitlines()[-5:])
                )
            os.chmod(work / "site", 0o755)
            os.replace(work / "site", target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


def chp_command() -> str:
    """configurable-http-proxy from the npm registry, installed by scripts/install-chp.sh."""
    result = subprocess.run(["bash", str(REPO / "scripts" / "install-chp.sh")], capture_output=True, text=True)
    if result.returncode != 0:
        raise HubStartError(f"scripts/install-chp.sh failed: {result.stderr.strip()[-500:]}")
    return result.stdout.strip().splitlines()[-1]


def signed_launch(url: str, fields: dict[str, str], *, key: str = CONSUMER_KEY, secret: str = CONSUMER_SECRET) -> str:
    """The urlencoded body of an LTI 1.1 launch as Moodle sends it: OAuth 1.0 HMAC-SHA1 in the body."""
    from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_TYPE_BODY, Client

    client = Client(
        key,
        client_secret=secret,
        signature_method=SIGNATURE_HMAC_SHA1,
        signature_type=SIGNATURE_TYPE_BODY,
        callback_uri="about:blank",
    )
    _, _, body = client.sign(
        url,
        http_method="POST",
        body=urllib.parse.urlencode(fields),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    return body


def moodle_fields(
    user: str,
    role: str,
    custom: dict[str, str],
    *,
    course: str = "98",
    link: str = "7",
    host: str = "moodle.example.ac.jp",
) -> dict[str, str]:
    """The launch fields of Moodle's LTI 1.1 (the ones that matter here)."""
    fields = {
        "lti_message_type": "basic-lti-launch-request",
        "lti_version": "LTI-1p0",
        "resource_link_id": link,
        "resource_link_title": "Jupyter 課題",
        "context_id": course,
        "context_label": "PROG1",
        "context_title": "プログラミング演習",
        "user_id": str(abs(hash(user)) % 1000),
        "ext_user_username": user,
        "lis_person_name_full": user.title(),
        "roles": role,
        "tool_consumer_instance_guid": host,
        "tool_consumer_info_product_family_code": "moodle",
        "launch_presentation_return_url": f"https://{host}/mod/lti/return.php?course={course}",
        "launch_presentation_locale": "ja",
    }
    fields.update({f"custom_{k}": v for k, v in custom.items()})
    return fields


@dataclass
class Hub:
    """A running JupyterHub: ``url`` (the proxy, public), ``token`` (an admin service token)."""

    process: subprocess.Popen
    url: str
    token: str
    workdir: Path
    log_path: Path
    #: Where the REST API is asked (default: through ``url``); the hub's own port when the proxy speaks TLS.
    api_base: str = ""

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        import requests

        headers = {"Authorization": f"token {self.token}", **kwargs.pop("headers", {})}
        base = self.api_base or self.url
        return requests.request(method, f"{base}/hub/api/{path.lstrip('/')}", headers=headers, timeout=30, **kwargs)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


#: The start of every test hub's jupyterhub_config.py: all of it on loopback, its state in ``workdir``
#: (format fields port, hub_port, proxy_api_port, chp, workdir). The console and collector hubs use it too.
LOOPBACK_HUB_CONFIG = """
c = get_config()  # noqa
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.JupyterHub.db_url = "sqlite:///{workdir}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{workdir}/cookie_secret"
c.JupyterHub.pid_file = "{workdir}/jupyterhub.pid"
"""

CONFIG_TEMPLATE = (
    LOOPBACK_HUB_CONFIG
    + """
# written by tests/hub/hubrun.py: docs/jupyterhub_config.py, set up for loopback and the test engine
c.JupyterHub.cleanup_servers = True
# after the LTI launch, go straight to the user's server (spawning it)
c.JupyterHub.default_url = "/hub/spawn"

c.JupyterHub.authenticator_class = "ltiauthenticator.lti11.auth.LTI11Authenticator"
c.LTI11Authenticator.consumers = {{{key!r}: {secret!r}}}
c.LTI11Authenticator.username_key = "ext_user_username"
c.Authenticator.enable_auth_state = True
c.Authenticator.allow_all = True

c.JupyterHub.spawner_class = "ipynb_tools.hub.spawner.LTIContainerSpawner"
c.DockerSpawner.image = {image!r}
c.DockerSpawner.pull_policy = "never"
c.DockerSpawner.network_name = "host"
c.DockerSpawner.cmd = ["/bin/sh", "{src}/ipynb_tools/hub/start-singleuser.sh"]
c.DockerSpawner.volumes = {{"ipt-e2e-home-{{username}}": "/home/{{username}}"}}
c.DockerSpawner.read_only_volumes = {{{repo!r}: "{src}", {site!r}: "{site_in}"}}
c.DockerSpawner.environment = {{
    "PYTHONPATH": "{src}:{site_in}",
    "JUPYTER_CONFIG_PATH": "{src}/jupyter-config",
    "PYTHONDONTWRITEBYTECODE": "1",
}}
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
c.LTIContainerSpawner.uid_base = 21000
c.LTIContainerSpawner.lookup_host_users = False

c.JupyterHub.services = [{{"name": "e2e", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{
    "name": "e2e-admin",
    "scopes": ["admin:users", "admin:servers", "access:servers", "tokens", "read:users"],
    "services": ["e2e"],
}}]
"""
)


EXECLOG_TEMPLATE = """
# docs/execlog.md: the collector as a hub service; the spawner points the servers at it, records launches
c.JupyterHub.services.append({{
    "name": "execlog",
    "url": "http://127.0.0.1:{collector_port}",
    "command": [{program!r}, "logs", "serve", "--db", {db!r}],
    "display": False,
}})
c.LTIContainerSpawner.execlog_url = "http://127.0.0.1:{port}/services/execlog/"
c.LTIContainerSpawner.execlog_db = {db!r}
"""


def start_hub(
    workdir: Path,
    *,
    image: str,
    docker_url: str,
    timeout: float = 60,
    execlog_db: Path | None = None,
    tls: tuple[Path, Path] | None = None,
    extra_config: str = "",
) -> Hub:
    """JupyterHub (LTI 1.1 + LTIContainerSpawner) on 127.0.0.1 behind configurable-http-proxy.

    With ``execlog_db``: the execution-log collector runs as a hub service on that store.
    ``extra_config``: lines appended to the configuration (e.g. another spawner class). With ``tls``
    (certificate, key): the proxy serves HTTPS (``c.JupyterHub.ssl_cert``/``ssl_key``); ``url`` is
    ``https://`` and the API is asked at the hub's own port.
    """
    import requests

    chp = chp_command()
    site = singleuser_site()
    port, hub_port, api_port = free_port(), free_port(), free_port()
    token = os.urandom(16).hex()
    config = CONFIG_TEMPLATE.format(
        port=port,
        hub_port=hub_port,
        proxy_api_port=api_port,
        chp=chp,
        workdir=workdir,
        key=CONSUMER_KEY,
        secret=CONSUMER_SECRET,
        image=image,
        src=IN_CONTAINER_SRC,
        site_in=IN_CONTAINER_SITE,
        repo=str(REPO),
        site=str(site),
        token=token,
    )
    if execlog_db is not None:
        config += EXECLOG_TEMPLATE.format(
            collector_port=free_port(),
            program=str(Path(sys.executable).with_name("ipynb-tools")),
            db=str(execlog_db),
            port=port,
        )
    if tls is not None:
        config += f"c.JupyterHub.ssl_cert = {str(tls[0])!r}\nc.JupyterHub.ssl_key = {str(tls[1])!r}\n"
    config += extra_config
    (workdir / "jupyterhub_config.py").write_text(config)
    env = {
        **os.environ,
        "DOCKER_HOST": docker_url,
        "JUPYTERHUB_CRYPT_KEY": os.urandom(32).hex(),
        "CONFIGPROXY_AUTH_TOKEN": os.urandom(16).hex(),
        "PYTHONPATH": str(REPO),
    }
    jupyterhub = Path(sys.executable).with_name("jupyterhub")
    log_path = workdir / "jupyterhub.log"
    with open(log_path, "w") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [str(jupyterhub), "-f", str(workdir / "jupyterhub_config.py"), "--debug"],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    scheme = "https" if tls is not None else "http"
    api_base = f"http://127.0.0.1:{hub_port}" if tls is not None else ""
    hub = Hub(process, f"{scheme}://127.0.0.1:{port}", token, workdir, log_path, api_base)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise HubStartError(f"jupyterhub exited ({process.returncode}):\n{hub.log_tail()}")
        try:
            # through the proxy (with TLS: the test's self-signed certificate, not verified)
            if requests.get(f"{hub.url}/hub/api/", timeout=2, verify=tls is None).status_code == 200:
                return hub
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            hub.stop()
            raise HubStartError(f"jupyterhub did not answer in {timeout} s:\n{hub.log_tail()}")
        time.sleep(0.3)
