"""The extension's wiring: enabled by the shipped config data file, umask at start."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tomllib
from pathlib import Path

import pytest
from jupyter_server.utils import url_path_join
from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine
from traitlets.config import Config

from ipynb_tools.environ import EnvironmentContractError, read_umask_file
from ipynb_tools.serverext import _jupyter_server_extension_points
from ipynb_tools.serverext.handlers import TargetsHandler
from ipynb_tools.serverext.umask import apply_user_umask, user_umask

from .conftest import Course

REPO = Path(__file__).resolve().parents[2]
CONFIG_FILE = REPO / "jupyter-config" / "jupyter_server_config.d" / "ipynb_tools.json"


def test_config_data_file_enables_the_extension() -> None:
    assert json.loads(CONFIG_FILE.read_text()) == {
        "ServerApp": {"jpserver_extensions": {"ipynb_tools.serverext": True}}
    }
    assert _jupyter_server_extension_points() == [{"module": "ipynb_tools.serverext"}]


def test_pyproject_ships_the_config_file_where_jupyter_reads_it() -> None:
    """As shared data of the wheel (hatchling puts it in editable wheels too: tests/serverext/test_install.py)."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert pyproject["build-system"]["build-backend"] == "hatchling.build"
    shared = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["shared-data"]
    assert shared["jupyter-config/jupyter_server_config.d/ipynb_tools.json"] == (
        "etc/jupyter/jupyter_server_config.d/ipynb_tools.json"
    )


async def test_installed_config_file_loads_the_extension(
    jp_configurable_serverapp, jp_env_config_path: Path, jp_extension_environ, course: Course, jp_base_url: str
) -> None:
    """With the data file in a Jupyter config path (as ``pip install`` puts it), no other config is needed."""
    target = Path(jp_env_config_path) / "jupyter_server_config.d"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(CONFIG_FILE, target / CONFIG_FILE.name)
    app = jp_configurable_serverapp(config=Config({}))
    assert "ipynb_tools.serverext" in app.extension_manager.extensions
    assert app.extension_manager.extensions["ipynb_tools.serverext"].enabled
    uri = url_path_join(jp_base_url, "ipynb-tools/api/targets")
    request = HTTPServerRequest(
        start_line=RequestStartLine("GET", uri, "HTTP/1.1"), headers=HTTPHeaders({"Host": "127.0.0.1"})
    )
    assert app.web_app.find_handler(request).handler_class is TargetsHandler


# -- umask ---------------------------------------------------------------------------------
@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / ".ipynb-tools").mkdir()
    return tmp_path


def write_mask(home: Path, text: str) -> Path:
    path = home / ".ipynb-tools" / "umask"
    path.write_text(text)
    return path


def test_umask_file_wins_over_environment(home: Path) -> None:
    write_mask(home, "0033\n")
    assert user_umask({"HOME": str(home), "NB_UMASK": "0037"}) == (0o033, str(home / ".ipynb-tools" / "umask"))


def test_umask_from_environment_when_no_file(home: Path) -> None:
    assert user_umask({"HOME": str(home), "NB_UMASK": "0037"}) == (0o037, "$NB_UMASK")
    assert user_umask({"HOME": str(home)}) == (None, "")


@pytest.mark.parametrize("text", ["", "banana", "0o1777", "99"])
def test_bad_umask_file_is_an_error(home: Path, text: str) -> None:
    path = write_mask(home, text)
    with pytest.raises(EnvironmentContractError) as info:
        read_umask_file(path)
    assert str(info.value).startswith(f"{path}: ")
    assert "\n" not in str(info.value)


def test_umask_directory_is_an_error(home: Path) -> None:
    (home / ".ipynb-tools" / "umask").mkdir()
    with pytest.raises(EnvironmentContractError, match="not a small regular file"):
        read_umask_file(home / ".ipynb-tools" / "umask")


def test_apply_sets_the_process_umask(home: Path) -> None:
    write_mask(home, "0037")
    assert apply_user_umask({"HOME": str(home)}) == 0o037
    assert _umask() == 0o037
    path = home / "new-file"
    path.write_text("x")
    assert path.stat().st_mode & 0o777 == 0o640


def test_bad_file_never_stops_the_server_and_leaves_the_umask(home: Path, caplog: pytest.LogCaptureFixture) -> None:
    os.umask(0o022)
    write_mask(home, "rwx")
    with caplog.at_level(logging.WARNING):
        assert apply_user_umask({"HOME": str(home)}) is None
    assert _umask() == 0o022
    assert "umask not applied" in caplog.text


def test_no_umask_known_leaves_it_alone(home: Path) -> None:
    os.umask(0o027)
    assert apply_user_umask({"HOME": str(home)}) is None
    assert _umask() == 0o027


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
