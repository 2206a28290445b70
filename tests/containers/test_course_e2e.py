"""A course in real containers on the private Docker engine, started from the project's own specs.

One teacher and two students; shared task and submit volumes; each user's home is a named volume
(so personal directories survive a restart, as with the real spawner). ``setup`` runs as root in
each container, then the users work with the in-container commands: the teacher deploys, students
see the notebooks read-only, start again and find them in their personal directory, edit, submit.

The image is the engine fixture's Debian image plus this package's source and click (copied in by a
COPY-only build: no RUN, no network). Containers run with ``network_mode="none"``.
"""

from __future__ import annotations

import io
import json
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ipynb_tools.params.text import parse
from ipynb_tools.spec import build_spec
from tests.engine import images

pytestmark = [pytest.mark.engine, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
COURSE, LTI, HOST = "98", "7", "lms.example.org"
TASK = f"lms_vol_py_{COURSE}_{HOST}"
REF = f"lms_vol_ref_{COURSE}_{HOST}"
SUBMIT = f"lms_sub_py_{COURSE}_{HOST}"
PERSONAL = f"lms_prs_py_{COURSE}_{HOST}"
USERS = {"tea": 1001, "alice": 1002, "bob": 1003}
PARAMS = """\
lms_users=*
lms_teachers=tea
lms_image={image}
lms_cpulimit=1.0
lms_memlimit=512000000
lms_vol_py=-課題
lms_vol_ref=.
lms_sub_py=提出
lms_prs_py=作業
"""
NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "# 課題 1"},
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": "x = 1"},
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {"tags": ["keep"]},
            "outputs": [],
            "source": "print(x)",
        },
    ],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}


@pytest.fixture(scope="module")
def course_image(docker_engine, debian_image, tmp_path_factory) -> str:
    return images.course_image(docker_engine.client(), debian_image, tmp_path_factory.mktemp("course-image"))


class Course:
    """The running course: volumes, containers by user, and helpers to run commands in them."""

    def __init__(self, client: Any, image: str) -> None:
        self.client = client
        self.image = image
        self.params = parse(PARAMS.format(image=image))
        self.run_id = uuid.uuid4().hex[:6]
        self.containers: dict[str, Any] = {}
        self.volumes = []
        self.setup_output: dict[str, str] = {}

    def home_volume(self, user: str) -> str:
        return f"ipt-e2e-{self.run_id}-home-{user}"

    def start(self, user: str) -> Any:
        """Start ``user``'s container from the project's spec (a new container each time) and run setup."""
        old = self.containers.pop(user, None)
        if old is not None:
            old.remove(force=True)
        spec = build_spec(self.params, user, uid=USERS[user], gid=100, course=COURSE, lti_id=LTI, host=HOST)
        for mount in spec.mounts:
            if mount.volume not in [v.name for v in self.volumes]:
                self.volumes.append(self.client.volumes.create(name=mount.volume, labels=mount.labels))
        kwargs = spec.to_docker_kwargs()
        home = self.home_volume(user)
        if home not in [v.name for v in self.volumes]:
            self.volumes.append(self.client.volumes.create(name=home))
        kwargs["volumes"][home] = {"bind": spec.home, "mode": "rw"}
        kwargs.update(command=["sleep", "infinity"], network_mode="none", detach=True, init=True)
        container = self.client.containers.run(**kwargs)
        self.containers[user] = container
        code, out = self.sh("root", user, "ipynb-tools setup")
        self.setup_output[user] = out
        assert code == 0, out
        return container

    def sh(
        self, who: str, user: str, command: str, *, umask: bool = True, workdir: str | None = None
    ) -> tuple[int, str]:
        """Run ``sh -c command`` in ``user``'s container as ``who`` (root or the user, with its umask file)."""
        if who != "root" and umask:
            command = f"umask $(cat $HOME/.ipynb-tools/umask) && {command}"
        result = self.client.api.exec_create(
            self.containers[user].id,
            ["sh", "-c", command],
            user=who,
            workdir=workdir,
            environment={"HOME": f"/home/{who}"} if who != "root" else None,
        )
        out = self.client.api.exec_start(result["Id"]).decode("utf-8", "replace")
        code = self.client.api.exec_inspect(result["Id"])["ExitCode"]
        return code, out

    def ok(self, who: str, user: str, command: str, **kw: Any) -> str:
        code, out = self.sh(who, user, command, **kw)
        assert code == 0, f"{who}@{user}: {command}\n{out}"
        return out

    def fails(self, who: str, user: str, command: str) -> str:
        code, out = self.sh(who, user, command)
        assert code != 0, f"{who}@{user} should not be able to: {command}\n{out}"
        return out

    def put(self, user: str, path: str, data: bytes) -> None:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo(Path(path).name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
        assert self.containers[user].put_archive(str(Path(path).parent), buf.getvalue())

    def stat(self, user: str, path: str) -> str:
        """``<mode> <owner> <group>`` with names resolved here (the container knows only its own user)."""
        mode, uid, gid = self.ok("root", user, f"stat -c '%a %u %g' '{path}'").split()
        names = {str(v): k for k, v in USERS.items()} | {"0": "root"}
        groups = {"100": "users", "7000": "teachers", "0": "root"}
        return f"{mode} {names.get(uid, uid)} {groups.get(gid, gid)}"

    def close(self) -> None:
        for container in self.containers.values():
            container.remove(force=True)
        for volume in self.volumes:
            volume.remove(force=True)


def works(user: str) -> str:
    return f"/home/{user}/jupyter/works"


@pytest.fixture(scope="module")
def course(docker_engine, course_image) -> Iterator[Course]:
    c = Course(docker_engine.client(), course_image)
    try:
        for user in USERS:
            c.start(user)
        # the teacher publishes: copies the material into the task volume and numbers it in place
        c.put("tea", "/tmp/kadai-1.ipynb", json.dumps(NOTEBOOK, ensure_ascii=False).encode())
        c.put("tea", "/tmp/data.csv", b"a,b\n1,2\n")
        c.ok(
            "tea",
            "tea",
            f"cp /tmp/kadai-1.ipynb /tmp/data.csv {works('tea')}/課題/ && cd {works('tea')}/課題 && ipynb_deploy .",
        )
        c.ok("tea", "tea", f"cp /tmp/data.csv {works('tea')}/{REF}/")
        yield c
    finally:
        c.close()


def test_links_follow_the_dash_and_dot_rules(course):
    for user in USERS:
        listing = course.ok(
            "root",
            user,
            f'cd {works(user)} && for f in * .volumes/*; do [ -L "$f" ] && echo "$f -> $(readlink "$f")"; done; true',
        )
        links = set(listing.split("\n")) - {""}
        expected = {
            f"提出 -> .volumes/{SUBMIT}",
            f"作業 -> .volumes/{PERSONAL}",
            f"{REF} -> .volumes/{REF}",
            f".volumes/提出 -> {SUBMIT}",
            f".volumes/作業 -> {PERSONAL}",
        }
        if user == "tea":
            expected |= {f"課題 -> .volumes/{TASK}", f".volumes/課題 -> {TASK}"}
        assert links == expected, (user, listing)


def test_volume_owners_and_modes(course):
    vols = f"{works('alice')}/.volumes"
    assert course.stat("alice", f"{vols}/{TASK}") == "2775 tea teachers"
    assert course.stat("alice", f"{vols}/{SUBMIT}") == "3777 tea teachers"
    # no shared, writable Jupyter state in a shared volume (issue 12 item 19): setup makes no
    # world-writable .ipynb_checkpoints there; the server keeps such checkpoints in the home
    course.fails("root", "alice", f"test -e {vols}/{SUBMIT}/.ipynb_checkpoints")
    assert course.stat("alice", f"{vols}/{PERSONAL}") == "700 alice users"
    assert course.stat("alice", "/home/alice").endswith("alice users")
    assert course.stat("alice", "/home/alice/.ipynb-tools/umask") == "644 root root"
    assert course.ok("root", "alice", "cat /home/alice/.ipynb-tools/umask").strip() == "0037"
    assert course.ok("root", "tea", "cat /home/tea/.ipynb-tools/umask").strip() == "0033"
    assert "teachers" in course.ok("tea", "tea", "id -nG").split()
    assert "teachers" not in course.ok("alice", "alice", "id -nG").split()
    log = course.ok("alice", "alice", "cat /home/alice/.ipynb-tools/setup.log")
    assert "end: ok: all steps ok" in log


def test_students_read_the_task_volume_but_cannot_change_it(course):
    task = f"{works('alice')}/.volumes/{TASK}"
    nb = json.loads(course.ok("alice", "alice", f"cat {task}/kadai-1.ipynb"))
    tags = [c["metadata"].get("tags") for c in nb["cells"] if c["cell_type"] == "code"]
    assert tags == [["filename:kadai-1.ipynb", "codenum:1"], ["keep", "filename:kadai-1.ipynb", "codenum:2"]]
    course.fails("alice", "alice", f"touch {task}/mine.txt")
    course.fails("alice", "alice", f"rm -f {task}/kadai-1.ipynb")
    course.fails("alice", "alice", f"echo x >> {task}/data.csv")
    course.fails("bob", "bob", f"mkdir {task}/d")


def test_after_a_restart_students_work_in_their_personal_directory_and_submit(course):
    for student in ("alice", "bob"):
        course.start(student)
        prs = f"{works(student)}/作業"
        assert course.stat(student, f"{prs}/kadai-1.ipynb") == f"640 {student} users"
        nb = json.loads(course.ok(student, student, f"cat {prs}/kadai-1.ipynb"))
        assert [t for c in nb["cells"] for t in c["metadata"].get("tags", []) if t.startswith("filename:")] == [
            "filename:kadai-1.ipynb"
        ] * 2
        # the task volume's files were fixed to 0664 by the starts
        assert course.stat(student, f"{works(student)}/.volumes/{TASK}/kadai-1.ipynb") == "664 tea teachers"
        # edit: the student's answer in the first code cell
        course.ok(
            student,
            student,
            f"cd {prs} && python3 -c \"import json; p='kadai-1.ipynb'; nb=json.load(open(p)); "
            f"nb['cells'][1]['source']='x = \\'{student}\\''; "
            "json.dump(nb, open(p, 'w'))\"",
        )
        out = course.ok(student, student, "ipynb_submit kadai-1.ipynb 提出", workdir=prs)
        assert "kadai-1_" in out
    sub = f"{works('tea')}/提出"
    listing = course.ok("tea", "tea", f"ls {sub}")
    assert set(listing.split()) >= {"kadai-1_alice.ipynb", "kadai-1_bob.ipynb"}
    assert course.stat("tea", f"{sub}/kadai-1_alice.ipynb") == "640 alice teachers"
    # the teacher reads every submission
    for student in ("alice", "bob"):
        nb = json.loads(course.ok("tea", "tea", f"cat {sub}/kadai-1_{student}.ipynb"))
        assert nb["cells"][1]["source"] == f"x = '{student}'"
    # a student can neither read nor delete nor overwrite another's submission
    bob_sub = f"{works('bob')}/提出"
    course.fails("bob", "bob", f"cat {bob_sub}/kadai-1_alice.ipynb")
    course.fails("bob", "bob", f"rm -f {bob_sub}/kadai-1_alice.ipynb")
    course.fails("bob", "bob", f"cp {works('bob')}/作業/kadai-1.ipynb {bob_sub}/kadai-1_alice.ipynb")
    assert course.ok("tea", "tea", f"ls {sub}").count("kadai-1_alice.ipynb") == 1
    # nor read the other's personal directory (it is not even mounted there; the home volume is theirs)
    course.fails("bob", "bob", "ls /home/alice")


def test_messages_in_the_container_follow_its_language(course):
    """Issue 16 item 8 in a real container: the image's copy of the package carries the compiled catalogues;
    LANGUAGE (what the spawner's site language sets) makes ipynb_submit answer in Japanese, else English."""
    prs = f"{works('alice')}/作業"
    ja = course.ok("alice", "alice", "LANGUAGE=ja ipynb_submit kadai-1.ipynb 提出", workdir=prs)
    assert "提出しました kadai-1.ipynb -> 提出/kadai-1_alice.ipynb（" in ja, ja  # (stdout and stderr together)
    assert "警告: kadai-1.ipynb: 前回の提出から変更がありません" in ja, ja  # handed in unchanged by the test before
    code, unknown = course.sh("alice", "alice", f"cd {prs} && LANGUAGE=ja ipynb_submit kadai-1.ipynb nowhere")
    assert code == 1 and "ipynb_submit: エラー: 提出先 'nowhere' は不明です。既知の提出先: 提出" in unknown, unknown
    assert "\t受付中" in course.ok("alice", "alice", "LANGUAGE=ja ipynb_submit --targets", workdir=prs)
    en = course.ok("alice", "alice", "LANG=C.UTF-8 ipynb_submit --targets", workdir=prs)
    assert "\topen" in en and "受付中" not in en
    # click's own parser messages too (domain click, bound by the console-script functions the wrappers call)
    code, typo = course.sh("alice", "alice", f"cd {prs} && LANGUAGE=ja ipynb_submit --lst")
    assert code == 2 and "使い方: ipynb_submit [OPTIONS]" in typo, typo
    assert (
        "'ipynb_submit --help' で使い方を表示できます。" in typo
        and "エラー: '--lst' というオプションはありません。" in typo
    )
    code, typo_en = course.sh("alice", "alice", f"cd {prs} && LANG=C.UTF-8 ipynb_submit --lst")
    assert code == 2 and "Error: No such option '--lst'." in typo_en and "使い方" not in typo_en, typo_en


def test_a_teacher_fix_reaches_untouched_copies_only(course):
    course.ok(
        "tea",
        "tea",
        f"printf 'a,b\\n1,2\\n3,4\\n' > {works('tea')}/課題/data.csv && "
        f"python3 -c \"import json; p='{works('tea')}/課題/kadai-1.ipynb'; nb=json.load(open(p)); "
        "nb['cells'][0]['source']='# fixed'; json.dump(nb, open(p, 'w'))\"",
    )
    course.start("alice")
    prs = f"{works('alice')}/作業"
    assert course.ok("alice", "alice", f"cat {prs}/data.csv") == "a,b\n1,2\n3,4\n"
    nb = json.loads(course.ok("alice", "alice", f"cat {prs}/kadai-1.ipynb"))
    assert nb["cells"][1]["source"] == "x = 'alice'"  # her answer stays
    assert "kept: kadai-1.ipynb" in course.setup_output["alice"]
    assert "updated: data.csv" in course.ok("alice", "alice", "cat /home/alice/.ipynb-tools/setup.log")
