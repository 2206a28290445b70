"""pytest-jupyter's server fixtures (jp_fetch, jp_serverapp...) for these tests only, and a small course.

pytest-jupyter registers no plugin entry point, and ``pytest_plugins`` may only be set in the
top-level conftest, so its fixtures and hooks are imported here: they apply to this directory only.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403  (fixtures + async test hooks)
from traitlets.config import Config

DATA = Path(__file__).resolve().parents[1] / "data"
HOST = "lms.example.ac.jp"
OPEN_FULL = f"lms_sub_k1_98_{HOST}"
CLOSED_FULL = f"lms_sub_k0_98_{HOST}"
OPEN_ACCESS = "課題1提出用"
CLOSED_ACCESS = "締切済み"
CLOSED_AT = 1_700_000_000  # 2023-11-14: long past


@dataclass
class Course:
    """The works directory (= server root), its two submit volumes, and the user's home."""

    root: Path
    home: Path
    open_dir: Path
    closed_dir: Path
    user: str = "alice"


@pytest.fixture(autouse=True)
def keep_umask():
    """The extension sets the process umask: give the test process its own back."""
    mask = os.umask(0o022)
    os.umask(mask)
    yield
    os.umask(mask)


@pytest.fixture
def course(jp_root_dir: Path, jp_home_dir: Path, jp_environ, monkeypatch: pytest.MonkeyPatch) -> Course:
    """A student's container as ``setup`` leaves it, with the server root at the works directory."""
    volumes = jp_root_dir / ".volumes"
    open_dir = volumes / OPEN_FULL
    closed_dir = volumes / CLOSED_FULL
    for d in (open_dir, closed_dir):
        d.mkdir(parents=True)
        d.chmod(0o1777)  # a submit volume: sticky, everyone may add
    for access, full in ((OPEN_ACCESS, OPEN_FULL), (CLOSED_ACCESS, CLOSED_FULL)):
        (jp_root_dir / access).symlink_to(Path(".volumes") / full)
    shutil.copy2(DATA / "deploy" / "v40.ipynb", jp_root_dir / "kadai-1.ipynb")
    shutil.copy2(DATA / "deploy" / "課題1 基礎.ipynb", jp_root_dir / "課題1 基礎.ipynb")
    (jp_root_dir / "notes.txt").write_text("not a notebook\n")
    (jp_root_dir / "broken.ipynb").write_text("{not json")
    state = jp_home_dir / ".ipynb-tools"
    state.mkdir(parents=True, exist_ok=True)
    (state / "umask").write_text("0037\n")
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    monkeypatch.setenv("NB_USER", "alice")
    monkeypatch.setenv("NB_WRKDIR", str(jp_root_dir))
    monkeypatch.setenv("NB_SUBMITS", f".volumes/{OPEN_FULL}:{OPEN_ACCESS} .volumes/{CLOSED_FULL}:{CLOSED_ACCESS}")
    monkeypatch.setenv("NB_SUBMITS_CLOSE", f"{CLOSED_FULL}={CLOSED_AT}")
    for name in ("IPYNB_SUBMIT_NAME_FORMAT", "IPYNB_SUBMIT_MAX_MB", "NB_UMASK"):
        monkeypatch.delenv(name, raising=False)
    return Course(jp_root_dir, jp_home_dir, open_dir, closed_dir)


@pytest.fixture
def jp_server_config(course: Course) -> Config:
    """Enable the extension explicitly (the data-file route is tested on its own)."""
    return Config({"ServerApp": {"jpserver_extensions": {"ipynb_tools.serverext": True}}})
