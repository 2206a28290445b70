"""The server extension is enabled by every install mode (issue 12, item 21).

A real ``pip install -e`` and a real ``pip install`` of a built wheel, each into its own temporary
venv (the project's dependencies are borrowed from the test venv by a path line, so nothing is
downloaded but the build backend from the package index). In each, Jupyter's own configuration
reader must list ``ipynb_tools.serverext`` as enabled, and a real ``jupyter server`` started from
that venv must answer the extension's REST API.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
TOKEN = "i12b-install-test"


def _project_copy(dest: Path) -> Path:
    """The tracked files of the repository (what a checkout has), copied to ``dest``."""
    files = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], check=True, capture_output=True).stdout.split(
        b"\0"
    )
    for name in filter(None, files):
        src = REPO / os.fsdecode(name)
        if src.is_file():
            (dest / os.fsdecode(name)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / os.fsdecode(name))
    return dest


def _venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    python = path / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # the dependencies (jupyter_server...) from the test venv, after the new venv's own packages
    (Path(purelib) / "zz_ipt_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def _pip(python: Path, *args: str) -> None:
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", *args], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]


def _clean_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "PYTHON", "VIRTUAL_ENV"))}
    env["JUPYTER_CONFIG_DIR"] = str(tmp / "user-config")  # no ~/.jupyter
    env["JUPYTER_DATA_DIR"] = str(tmp / "user-data")
    env["JUPYTER_RUNTIME_DIR"] = str(tmp / "runtime")
    env["HOME"] = str(tmp / "home")
    (tmp / "home").mkdir(exist_ok=True)
    return env


def _enabled(python: Path, env: dict[str, str]) -> tuple[bool, str]:
    """(enabled?, where ipynb_tools is imported from) as Jupyter's config reader sees it in that venv."""
    probe = (
        "import json, ipynb_tools\n"
        "from jupyter_core.paths import jupyter_config_path\n"
        "from jupyter_server.extension.config import ExtensionConfigManager\n"
        "m = ExtensionConfigManager(read_config_path=jupyter_config_path())\n"
        "print(json.dumps([m.get_jpserver_extensions().get('ipynb_tools.serverext', False), ipynb_tools.__file__]))\n"
    )
    out = subprocess.run(
        [str(python), "-c", probe], check=True, capture_output=True, text=True, env=env, cwd=env["HOME"]
    ).stdout
    enabled, where = json.loads(out)
    return enabled, where


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_answers(python: Path, env: dict[str, str], root: Path) -> dict:
    """Start ``jupyter server`` from the venv with no extension configured; GET the API's targets."""
    port = _free_port()
    server = subprocess.Popen(
        [
            str(python),
            "-m",
            "jupyter_server",
            f"--ServerApp.port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.open_browser=False",
            "--allow-root",
        ],
        env={**env, "NB_WRKDIR": str(root)},
        cwd=env["HOME"],  # not the repository: `python -m` would import the checkout
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        url = f"http://127.0.0.1:{port}/ipynb-tools/api/targets"
        while True:
            try:
                request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
                with urllib.request.urlopen(request, timeout=5) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as exc:
                pytest.fail(f"the extension's API answered {exc.code}")
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    pytest.fail("jupyter server did not answer: " + server.stderr.read().decode()[-3000:])
                time.sleep(0.3)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.mark.parametrize("mode", ["editable", "wheel"])
def test_every_install_mode_enables_the_extension(tmp_path: Path, mode: str) -> None:
    source = _project_copy(tmp_path / "src")
    python = _venv(tmp_path / "venv")
    env = _clean_env(tmp_path)
    if mode == "editable":
        _pip(python, "-e", str(source))
    else:
        wheels = tmp_path / "wheels"
        result = subprocess.run(
            [str(python), "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(source)],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        (wheel,) = wheels.glob("ipynb_tools-*.whl")
        _pip(python, str(wheel))
    enabled, where = _enabled(python, env)
    assert enabled is True
    expected = source if mode == "editable" else tmp_path / "venv"
    assert Path(where).is_relative_to(expected), where  # this install, not the test venv's
    installed = tmp_path / "venv" / "etc" / "jupyter" / "jupyter_server_config.d" / "ipynb_tools.json"
    assert json.loads(installed.read_text()) == {"ServerApp": {"jpserver_extensions": {"ipynb_tools.serverext": True}}}
    # the limit notices' prebuilt JupyterLab extension, built from labextension/ by the install (npm)
    labext = tmp_path / "venv" / "share" / "jupyter" / "labextensions" / "ipynb-tools-limits"
    assert json.loads((labext / "package.json").read_text())["jupyterlab"]["_build"]["load"].startswith("static/")
    assert (labext / "install.json").is_file() and list((labext / "static").glob("remoteEntry.*.js"))
    root = tmp_path / "works"
    root.mkdir()
    assert _server_answers(python, env, root) == {"targets": []}
