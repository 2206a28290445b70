"""An image built for the old spawner runs unchanged from the project's spec, in a real container (issue 16).

The image is the engine fixture's busybox image plus an entry script written the way the old
images' start scripts were: it reads the old spawner's variables (SPEC 12) and reports them, makes
the home by ``NB_DIR`` (the old layout ``/home/<group>/<user>``), and tries a plain write into every
submit volume it was given and into the one whose deadline has passed. The container is created
with :meth:`ipynb_tools.spec.ContainerSpec.to_docker_kwargs` on the private Docker engine.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipynb_tools.params.text import parse
from ipynb_tools.spec import build_spec

pytestmark = [pytest.mark.engine, pytest.mark.slow]

HOST = "lms.example.org"
OLD_VARIABLES = (
    "NB_UID NB_USER NB_GID NB_GROUP NB_DIR NB_WRKDIR NB_ACTLIMIT NB_THRGID NB_THRGROUP NB_OPTION NB_HOSTNAME "
    "NB_UMASK NB_TEACHER NB_VOLUMES NB_SUBMITS NB_PRSNALS LTI_CTR_ID LTI_ID LTI_COURSE LTI_NAME TZ"
)
ENTRY = r"""#!/bin/sh
# the start script of an image built for the old spawner
for v in @VARIABLES@; do
  eval "val=\${$v-UNSET}"
  echo "env $v=$val"
done
mkdir -p "$NB_DIR" && echo "home $NB_DIR made"
for entry in $NB_SUBMITS; do
  dir="$NB_WRKDIR/${entry%%:*}"
  if echo late > "$dir/late_$NB_USER.ipynb" 2>/dev/null; then echo "wrote $dir"; else echo "refused $dir"; fi
done
late="$NB_WRKDIR/.volumes/$CLOSED_VOLUME"
mkdir -p "$late" 2>/dev/null; echo late > "$late/late_$NB_USER.ipynb" 2>/dev/null
echo done
""".replace("@VARIABLES@", OLD_VARIABLES)


@pytest.fixture
def old_image(docker_engine, tiny_image, tmp_path: Path) -> Iterator[str]:
    (tmp_path / "entry.sh").write_text(ENTRY)
    (tmp_path / "entry.sh").chmod(0o755)
    (tmp_path / "Dockerfile").write_text(f'FROM {tiny_image}\nCOPY entry.sh /entry.sh\nCMD ["/entry.sh"]\n')
    tag = f"ipynb-tools-test-old:{uuid.uuid4().hex[:8]}"
    client = docker_engine.client()
    client.images.build(path=str(tmp_path), tag=tag, rm=True, network_mode="none")
    yield tag
    client.images.remove(tag, force=True)


@pytest.fixture
def course(docker_engine) -> Iterator[str]:
    course = f"c{uuid.uuid4().hex[:8]}"
    yield course
    client = docker_engine.client()
    for volume in client.volumes.list(filters={"label": f"io.ipynb-tools.course={course}"}):
        volume.remove(force=True)


def test_an_old_image_reads_the_old_variables_and_cannot_hand_in_late(docker_engine, old_image, course) -> None:
    params = parse(
        "lms_users=*\nlms_teachers=tea\nlms_image=" + old_image + "\n"
        "lms_sub_open=提出\nlms_sub_late=締切済み\nlms_sub_late_close=1700000000\n"
        "lms_memlimit=0\nlms_cpulimit=0.0\nlms_memgrnt=64M\nlms_cpugrnt=0.5\nlms_actlimit=6000\n"
        "lms_sessioninfo=12,345\nlms_course=プログラミング演習\nlms_ltiname=課題1\nlms_options=gpu\n"
    )
    spec = build_spec(
        params,
        "alice",
        uid=30031,
        gid=2024,
        group="g2024",
        home_by_group=True,
        course=course,
        lti_id="7",
        host=HOST,
        timezone="Asia/Tokyo",
        at=1800000000,
    )
    client = docker_engine.client()
    for mount in spec.mounts:
        client.volumes.create(mount.volume, labels=mount.labels)
    closed = f"lms_sub_late_{course}_{HOST}"
    client.volumes.create(closed, labels={"io.ipynb-tools.course": course})
    kwargs = spec.to_docker_kwargs()
    kwargs["environment"]["CLOSED_VOLUME"] = closed
    container = client.containers.run(**kwargs, network_mode="none", detach=True)
    try:
        assert container.wait(timeout=60)["StatusCode"] == 0
        report = container.logs().decode()
        host_config = client.api.inspect_container(container.id)["HostConfig"]
    finally:
        container.remove(force=True)

    env = dict(line[4:].split("=", 1) for line in report.splitlines() if line.startswith("env "))
    assert "UNSET" not in env.values(), report
    works = "/home/g2024/alice/jupyter/works"
    assert env == {
        "NB_UID": "30031",
        "NB_USER": "alice",
        "NB_GID": "2024",
        "NB_GROUP": "g2024",
        "NB_DIR": "/home/g2024/alice",
        "NB_WRKDIR": works,
        "NB_ACTLIMIT": "6000",
        "NB_THRGID": "7000",
        "NB_THRGROUP": "teachers",
        "NB_OPTION": "gpu",
        "NB_HOSTNAME": HOST,
        "NB_UMASK": "0037",
        "NB_TEACHER": "",
        "NB_VOLUMES": "",
        "NB_SUBMITS": f".volumes/lms_sub_open_{course}_{HOST}:提出",
        "NB_PRSNALS": "",
        "LTI_CTR_ID": "12",
        "LTI_ID": "345",
        "LTI_COURSE": "プログラミング演習",
        "LTI_NAME": "課題1",
        "TZ": "Asia/Tokyo",
    }
    assert "home /home/g2024/alice made" in report
    assert f"wrote {works}/.volumes/lms_sub_open_{course}_{HOST}" in report

    # the late write landed in the container's own file system, never in the closed submit volume
    def files_in(volume: str) -> list[str]:
        out = client.containers.run(
            old_image,
            ["ls", "-A", "/v"],
            volumes={volume: {"bind": "/v", "mode": "ro"}},
            network_mode="none",
            remove=True,
        )
        return out.decode().split()

    assert files_in(closed) == []
    assert files_in(f"lms_sub_open_{course}_{HOST}") == ["late_alice.ipynb"]

    # lms_memlimit=0 / lms_cpulimit=0.0: no limit; the guarantees are reservations
    assert host_config["Memory"] == 0 and host_config["NanoCpus"] == 0 and not host_config["CpuQuota"]
    assert host_config["MemoryReservation"] == 64 * 1024**2
    assert host_config["CpuShares"] == 512
