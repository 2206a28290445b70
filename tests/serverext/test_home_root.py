"""A non-default home root, end to end: spec -> start environment -> setup -> submit -> server extension.

The spawner's ``home_root`` (here ``<tmp>/srv/homes``, not ``/home``) must reach every reader of the
contract: ``setup`` makes the home there and leaves the umask file and the setup log in it, ``submit``
(run as the user, with ``HOME`` pointing elsewhere) keeps its state there, and the server extension
applies that umask and lists the copies and receipts kept there. Root-only (real uid, ownership): fails in CI instead
of skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from traitlets.config import Config

from ipynb_tools import submit as lib
from ipynb_tools.environ import STUDENT_UMASK, TEACHER_UMASK, StartEnvironment, UserPaths
from ipynb_tools.params.text import parse
from ipynb_tools.spec import build_spec
from ipynb_tools.start import run_as, setup
from tests.requirements import require_root

from .conftest import DATA

pytestmark = pytest.mark.root

USER, UID, GID = "ipt-hr-carol", 47021, 100
HOST = "lms.example.ac.jp"
PARAMS = "lms_users=*\nlms_teachers=tea\nlms_image=img\nlms_vol_py=課題\nlms_sub_py=提出\nlms_prs_py=作業\n"
SUBMIT_FULL = f"lms_sub_py_98_{HOST}"
PERSONAL_FULL = f"lms_prs_py_98_{HOST}"


@pytest.fixture
def launch():
    """A spec built with a non-default home root, its volumes 'mounted', and setup run as root."""
    require_root("setup makes a home owned by another uid, submit runs as that uid")
    base = Path(tempfile.mkdtemp(prefix="ipt-home-root-", dir="/tmp"))
    base.chmod(0o755)
    mounted: list[Path] = []
    try:
        root = base / "srv" / "homes"
        etc = base / "etc"
        (etc / "profile.d").mkdir(parents=True)
        for name in ("passwd", "group", "shadow"):
            shutil.copy2(Path("/etc") / name, etc / name)
        spec = build_spec(
            parse(PARAMS),
            USER,
            uid=UID,
            gid=GID,
            course="98",
            lti_id="7",
            host=HOST,
            home_root=str(root),
            teachers_gid=47020,
            teachers_group="ipt-hr-thr",
            random="r",
        )
        for mount in spec.mounts:  # what the engine does: the volumes mounted before setup (real bind mounts)
            source = base / "engine" / Path(mount.target).name
            source.mkdir(parents=True)
            Path(mount.target).mkdir(parents=True)
            subprocess.run(["mount", "--bind", str(source), mount.target], check=True)
            mounted.append(Path(mount.target))
        env = StartEnvironment.from_environ(spec.environment)
        lines: list[str] = []
        report = setup(env, etc=etc, echo=lines.append)
        assert report.ok, lines
        yield spec, env.paths
    finally:
        for point in reversed(mounted):
            subprocess.run(["umount", "-l", str(point)], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def jp_root_dir(launch) -> Path:
    """The Jupyter server's root is the works directory the spec names."""
    return launch[1].works


@pytest.fixture
def jp_server_config(launch, jp_environ, monkeypatch: pytest.MonkeyPatch) -> Config:
    """The container's environment as the spec sets it (HOME stays pytest-jupyter's other directory)."""
    spec, _ = launch
    for key, value in spec.environment.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("JUPYTERHUB_USER", USER)
    # $NB_UMASK (the spec's, also the student mask) is made the teacher's here, so the student mask the
    # test sees can only come from the umask file setup left in the spec's home
    monkeypatch.setenv("NB_UMASK", f"{TEACHER_UMASK:04o}")
    for name in ("IPYNB_SUBMIT_NAME_FORMAT", "IPYNB_SUBMIT_MAX_MB"):
        monkeypatch.delenv(name, raising=False)
    return Config({"ServerApp": {"jpserver_extensions": {"ipynb_tools.serverext": True}}})


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


async def test_setup_submit_and_the_server_extension_use_the_spec_home(launch, jp_fetch, jp_home_dir: Path) -> None:
    spec, paths = launch
    home = Path(spec.home)
    # the spec: NB_HOME and NB_WRKDIR under the home root, volumes mounted under that works directory
    assert spec.environment["NB_HOME"] == str(home) and home.parent.name == "homes"
    assert paths == UserPaths(home, home / "jupyter" / "works")
    assert spec.environment["NB_WRKDIR"] == str(paths.works)
    assert {m.target for m in spec.mounts} == {str(paths.volume(m.volume)) for m in spec.mounts}

    # setup: the home, the umask file and the setup log are there, nothing under /home
    assert os.stat(home).st_uid == UID
    assert paths.umask_file.read_text() == f"{STUDENT_UMASK:04o}\n"
    assert "end: ok" in paths.setup_log.read_text()
    assert not os.path.lexists(Path("/home") / USER)
    personal = paths.volume(PERSONAL_FULL)
    assert personal.is_dir() and os.stat(personal).st_uid == UID
    assert os.readlink(paths.works / "提出") == f".volumes/{SUBMIT_FULL}"

    # submit, as the user, with HOME elsewhere: the state goes to NB_HOME's ~/.ipynb-tools
    notebook = personal / "kadai-1.ipynb"
    shutil.copy2(DATA / "deploy" / "v40.ipynb", notebook)
    os.chown(notebook, UID, GID)
    env = {**spec.environment, "HOME": "/"}

    def hand_in(emit) -> bool:  # in a child process with the user's uid, gid and umask
        receipt = lib.submit_notebook(notebook, "提出", env=env)
        emit(True, receipt.line())
        return True

    said: list[str] = []
    assert run_as(StartEnvironment.from_environ(env), hand_in, lambda ok, line: said.append(line)), said
    assert (paths.volume(SUBMIT_FULL) / f"kadai-1_{USER}.ipynb").is_file()
    receipts = (paths.state / "submit.log").read_text().splitlines()
    assert len(receipts) == 1 and json.loads(receipts[0])["user"] == USER
    assert [p.name for p in (paths.state / "submissions").iterdir()]

    # the server extension (started by jp_fetch's server, as root here, with HOME another directory):
    # the umask from that home's file; the submissions it lists, kept copies and receipts, from that home
    assert STUDENT_UMASK != TEACHER_UMASK and _umask() == STUDENT_UMASK
    response = await jp_fetch("ipynb-tools", "api", "submissions", params={"history": "1"})
    body = json.loads(response.body)
    assert [r["user"] for r in body["receipts"]] == [USER]
    assert [Path(k["path"]).is_relative_to(paths.state) for k in body["kept"]] == [True]
    assert [s["name"] for s in body["submissions"]] == []  # copies owned by the user, not by this server's uid
    assert not (jp_home_dir / ".ipynb-tools").exists()
