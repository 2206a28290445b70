"""The Volumes page on the private Docker engine: sizes and users, delete with confirmation, a volume a
running container uses is refused until its users' servers stop (issue 15)."""

from __future__ import annotations

import contextlib
import time

import pytest

from ipynb_tools.console.volumes import VolumeBusy, course_volumes, delete_volume
from ipynb_tools.volumes.course import create_volume
from ipynb_tools.volumes.engine import connect
from ipynb_tools.volumes.naming import LABEL_COURSE, LABEL_USER, VolumeKind
from tests.browser import artifact_dir

from .conftest import INSTRUCTOR, LEARNER, teacher_custom
from .hubconsole import HOST, ConsoleHub
from .test_users import server_running, wait_for

pytestmark = pytest.mark.slow
COURSE = "96"


@pytest.fixture
def course_volumes_on_engine(docker_engine, debian_image):
    """The course's task and submit volume ``ex1``; a running container of user ``ono`` writes 2 MB into
    the task volume (the stand-in for ono's server container: the spawner's user label)."""
    engine = connect(docker_engine.url)
    create_volume(engine, VolumeKind.TASK, "ex1", COURSE, HOST)
    create_volume(engine, VolumeKind.SUBMIT, "ex1", COURSE, HOST)
    client = docker_engine.client()
    container = client.containers.run(
        debian_image,
        ["sh", "-c", "head -c 2000000 /dev/zero > /v/data && sleep 600"],
        volumes={f"lms_vol_ex1_{COURSE}_{HOST}": {"bind": "/v", "mode": "rw"}},
        labels={LABEL_USER: "ono", LABEL_COURSE: COURSE},
        detach=True,
        name=f"jupyterhub-test-{COURSE}-ono",
    )
    deadline = time.monotonic() + 60
    while container.exec_run(["test", "-s", "/v/data"]).exit_code != 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    try:
        yield engine, container
    finally:
        with contextlib.suppress(Exception):  # best-effort cleanup
            container.remove(force=True)
        for volume in client.volumes.list(filters={"label": f"{LABEL_COURSE}={COURSE}"}):
            with contextlib.suppress(Exception):
                volume.remove(force=True)
        engine.close()


def test_library_refuses_a_volume_a_running_container_uses(course_volumes_on_engine) -> None:
    engine, container = course_volumes_on_engine
    rows = {r.kind: r for r in course_volumes(engine, COURSE, HOST)}
    assert rows["task"].running_users == ["ono"] and rows["task"].in_use
    assert rows["task"].size is not None and rows["task"].size >= 2_000_000
    assert not rows["submit"].in_use
    with pytest.raises(VolumeBusy, match="ono"):
        delete_volume(engine, COURSE, HOST, rows["task"].full_name)
    assert rows["task"].full_name in {r.full_name for r in course_volumes(engine, COURSE, HOST)}
    container.stop(timeout=1)  # a stopped server's remains: deleted with the volume
    delete_volume(engine, COURSE, HOST, rows["task"].full_name)
    assert [r.kind for r in course_volumes(engine, COURSE, HOST)] == ["submit"]


def test_teacher_deletes_volumes_in_the_browser(
    engine_login, engine_console_hub: ConsoleHub, course_volumes_on_engine, docker_engine
) -> None:
    _engine, container = course_volumes_on_engine
    engine_login("ono", LEARNER, teacher_custom("mori"), course=COURSE).context.close()
    teacher = engine_login("mori", INSTRUCTOR, teacher_custom("mori"), course=COURSE)
    assert engine_console_hub.api("POST", "users/ono/server").status_code in (201, 202)
    wait_for(lambda: server_running(engine_console_hub, "ono"), what="ono's server")
    task, submit = f"lms_vol_ex1_{COURSE}_{HOST}", f"lms_sub_ex1_{COURSE}_{HOST}"

    teacher.goto(engine_console_hub.console_url + f"course/{COURSE}/volumes")
    assert "ono (running)" in teacher.locator(f"tr[data-volume='{task}'] td.users").inner_text()
    assert "MB" in teacher.locator(f"tr[data-volume='{task}'] td.num").inner_text()
    teacher.screenshot(path=str(artifact_dir("console") / "volumes-in-use-en.png"), full_page=True)

    # an unused volume: confirmation page, then gone from the engine
    teacher.locator(f"tr[data-volume='{submit}'] a.button").click()
    teacher.wait_for_url("**/volumes/delete?volume=*")
    teacher.click("#confirm-delete")
    teacher.wait_for_url("**/volumes?done=*")
    assert submit in teacher.inner_text("p.notice")
    assert submit not in {v.name for v in docker_engine.client().volumes.list()}

    # a volume in use: no delete button; "stop those servers first" stops ono's server through the hub
    teacher.locator(f"tr[data-volume='{task}'] a.button").click()
    teacher.wait_for_url("**/volumes/delete?volume=*")
    assert "ono" in teacher.inner_text("#in-use")
    assert teacher.locator("#confirm-delete").count() == 0
    teacher.screenshot(path=str(artifact_dir("console") / "volume-in-use-en.png"), full_page=True)
    teacher.click("#stop-users")
    teacher.wait_for_url("**/volumes/delete?volume=*stopped=1")
    assert not server_running(engine_console_hub, "ono")
    # the spawner removes a stopped server's container; here the test's stand-in container is stopped
    container.stop(timeout=1)
    teacher.reload()
    teacher.click("#confirm-delete")
    teacher.wait_for_url("**/volumes?done=*")
    assert task not in {v.name for v in docker_engine.client().volumes.list()}
