"""My server (issue 15): a student's own page shows their server, resets it through the hub, and lists their
hand-ins in their courses' submit volumes (made by the real ipynb_submit), not a classmate's."""

from __future__ import annotations

import contextlib
import shutil

import pytest

from ipynb_tools.submit import submit_notebook
from ipynb_tools.volumes.course import create_volume
from ipynb_tools.volumes.engine import connect
from ipynb_tools.volumes.naming import LABEL_COURSE, VolumeKind

from .conftest import teacher_custom
from .hubconsole import HOST, ConsoleHub
from .test_users import server_running, wait_for

pytestmark = pytest.mark.slow
COURSE = "90"


@pytest.fixture
def hand_ins(docker_engine, data_dir, tmp_path):
    """The course's submit volume ``ex3`` with a hand-in of ``noda`` and one of ``ota``."""
    engine = connect(docker_engine.url)
    create_volume(engine, VolumeKind.SUBMIT, "ex3", COURSE, HOST)
    mountpoint = docker_engine.client().volumes.get(f"lms_sub_ex3_{COURSE}_{HOST}").attrs["Mountpoint"]
    source = tmp_path / "kadai3.ipynb"
    shutil.copy(data_dir / "deploy" / "no-code.ipynb", source)
    receipts = {}
    for user in ("noda", "ota"):
        (tmp_path / user).mkdir()
        env = {"HOME": str(tmp_path / user), "JUPYTERHUB_USER": user}
        receipts[user] = submit_notebook(source, mountpoint, user=user, env=env)
    try:
        yield receipts
    finally:
        for found in docker_engine.client().volumes.list(filters={"label": f"{LABEL_COURSE}={COURSE}"}):
            with contextlib.suppress(Exception):  # best-effort cleanup
                found.remove(force=True)
        engine.close()


def test_student_sees_their_hand_ins_and_resets_their_server(
    engine_login, engine_console_hub: ConsoleHub, hand_ins
) -> None:
    student = engine_login("noda", "Learner", teacher_custom("nobody"), course=COURSE)
    assert engine_console_hub.api("POST", "users/noda/server").status_code in (201, 202)
    wait_for(lambda: server_running(engine_console_hub, "noda"), what="noda's server")

    student.goto(engine_console_hub.console_url + "me")
    assert "Your server is running." in student.inner_text("main")
    table = student.inner_text("#submissions")
    assert hand_ins["noda"].name in table and "ex3" in table
    assert hand_ins["ota"].name not in table  # a classmate's copy in the same volume is not shown
    assert student.locator("a[href*='/course/']").count() == 0

    student.click("form.confirm button")
    student.wait_for_url("**/me?done=reset")
    assert not server_running(engine_console_hub, "noda")
    assert "Your server is not running." in student.inner_text("main")
