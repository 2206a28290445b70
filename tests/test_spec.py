"""The container specification (SPEC 6): from parameters to Docker SDK keyword arguments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ipynb_tools.cli.main import cli
from ipynb_tools.environ import StartEnvironment, VolumeEntry
from ipynb_tools.params.text import parse
from ipynb_tools.spec import CONTAINER_NAME_RE, SpecError, build_spec, container_name

PARAMS = """\
lms_users=*
lms_teachers=tea
lms_image=jupyter/datascience-notebook
lms_cpulimit=1.5
lms_memlimit=500,000,000
lms_actlimit=3600
lms_defurl=/tree
lms_vol_py=-課題
lms_sub_py=提出
lms_prs_py=作業
lms_vol_ex=.:tea
lms_sub_py_close=1800000000
custom_other=kept
"""
HOST = "lms.example.org"
TASK = f"lms_vol_py_98_{HOST}"
SUBMIT = f"lms_sub_py_98_{HOST}"
PERSONAL = f"lms_prs_py_98_{HOST}"


def parsed(spec) -> StartEnvironment:
    """The NB_* contract the spec carries, read back as the container reads it."""
    return StartEnvironment.from_environ(spec.environment)


def spec_for(user: str, text: str = PARAMS, **kw):
    kw.setdefault("uid", 1001)
    kw.setdefault("gid", 100)
    return build_spec(parse(text), user, course="98", lti_id="7", host=HOST, random="r4nd", **kw)


def test_student_spec_has_the_start_environment_mounts_limits_and_name():
    spec = spec_for("alice")
    env = parsed(spec)
    assert env.user == "alice" and env.uid == 1001 and env.gid == 100 and not env.teacher
    assert env.umask == 0o037
    assert env.tasks == [VolumeEntry(TASK, "-課題")]  # still mounted: the '-' only hides the link
    assert env.submits == [VolumeEntry(SUBMIT, "提出")]
    assert env.personals == [VolumeEntry(PERSONAL, "作業")]
    assert env.submit_close == {SUBMIT: 1800000000}
    assert env.actlimit == 3600
    assert str(env.works) == "/home/alice/jupyter/works"
    kw = spec.to_docker_kwargs()
    assert kw["image"] == "jupyter/datascience-notebook"
    assert kw["name"] == f"jupyterhub-98-7-{HOST}-r4nd-alice"
    assert kw["volumes"] == {
        TASK: {"bind": f"/home/alice/jupyter/works/.volumes/{TASK}", "mode": "rw"},
        SUBMIT: {"bind": f"/home/alice/jupyter/works/.volumes/{SUBMIT}", "mode": "rw"},
    }
    assert kw["mem_limit"] == 500_000_000 and kw["nano_cpus"] == 1_500_000_000
    assert kw["environment"]["NB_TEACHER"] == "" and kw["environment"]["NB_UMASK"] == "0037"
    assert kw["user"] == "root"
    assert spec.default_url == "/tree"
    assert {m.kind for m in spec.mounts} == {"vol", "sub"}
    assert spec.mounts[0].labels["io.ipynb-tools.kind"] == "vol"


def test_teacher_spec_and_per_volume_user_lists():
    spec = spec_for("tea")
    env = parsed(spec)
    assert env.teacher and env.umask == 0o033
    assert spec.environment["NB_TEACHER"] == "tea"
    assert [v.full_name for v in env.tasks] == [TASK, f"lms_vol_ex_98_{HOST}"]
    # a student is not in lms_vol_ex's list
    assert [v.full_name for v in parsed(spec_for("alice")).tasks] == [TASK]
    # the role can be given by the LMS instead of lms_teachers
    assert parsed(spec_for("alice", teacher=True)).teacher


@pytest.mark.parametrize("delta,mounted", [(-1, True), (0, True), (1, False)])
def test_a_student_container_started_after_the_close_has_no_submit_volume(delta, mounted):
    """SPEC 12: after lms_sub_NAME_close the old spawner did not mount the submit volume for students;
    the closing second itself is still open (environ.is_past_close). Teachers keep it."""
    at = 1800000000 + delta
    spec = spec_for("alice", at=at)
    assert (SUBMIT in spec.to_docker_kwargs()["volumes"]) is mounted
    assert (parsed(spec).submits == [VolumeEntry(SUBMIT, "提出")]) is mounted
    assert parsed(spec).submit_close == ({SUBMIT: 1800000000} if mounted else {})
    assert TASK in spec.to_docker_kwargs()["volumes"]  # only the closed submit volume goes
    teacher = spec_for("tea", at=at)
    assert SUBMIT in teacher.to_docker_kwargs()["volumes"]
    assert parsed(teacher).submit_close == {SUBMIT: 1800000000}


def test_the_environment_round_trips_through_the_contract():
    spec = spec_for("alice")
    contract = StartEnvironment.from_environ(spec.environment).to_environ()
    assert contract == {k: v for k, v in spec.environment.items() if k in contract}
    # the rest is the old spawner's other variables (SPEC 12), nothing else
    old = {"NB_DIR", "NB_HOSTNAME", "NB_OPTION", "LTI_CTR_ID", "LTI_ID", "LTI_COURSE", "LTI_NAME", "TZ"}
    assert set(spec.environment) - set(contract) <= old


def test_the_old_spawners_environment_is_passed_too():
    """SPEC 12: every variable the old spawner passed, so its images run unchanged."""
    text = PARAMS + "lms_sessioninfo=12,345\nlms_course=プログラミング\nlms_ltiname=課題 1\nlms_options=gpu\n"
    env = spec_for("alice", text, group="g2024", gid=2024, timezone="Asia/Tokyo").environment
    assert env["NB_USER"] == "alice" and env["NB_UID"] == "1001" and env["NB_GID"] == "2024"
    assert env["NB_GROUP"] == "g2024"
    assert env["NB_DIR"] == env["NB_HOME"] == "/home/alice"
    assert env["NB_WRKDIR"] == "/home/alice/jupyter/works"
    assert env["NB_HOSTNAME"] == HOST and env["NB_OPTION"] == "gpu"
    assert (env["LTI_CTR_ID"], env["LTI_ID"]) == ("12", "345")
    assert (env["LTI_COURSE"], env["LTI_NAME"]) == ("プログラミング", "課題 1")
    assert env["TZ"] == "Asia/Tokyo" and env["NB_ACTLIMIT"] == "3600"
    assert env["NB_THRGID"] == "7000" and env["NB_UMASK"] == "0037"
    # without lms_sessioninfo: the launch's LTI id, no instance id; no zone: TZ not passed
    env = spec_for("alice", PARAMS, timezone="").environment
    assert (env["LTI_CTR_ID"], env["LTI_ID"], env["NB_OPTION"]) == ("", "7", "")
    assert "TZ" not in env and env["NB_GROUP"] == "users"


def test_the_old_home_layout_is_a_site_option():
    """SPEC 12: the old spawner's homes were /home/<group>/<user>."""
    spec = spec_for("alice", group="g2024", home_by_group=True)
    assert spec.home == "/home/g2024/alice" and spec.environment["NB_HOME"] == "/home/g2024/alice"
    assert spec.environment["NB_WRKDIR"] == "/home/g2024/alice/jupyter/works"
    assert spec.to_docker_kwargs()["volumes"][SUBMIT]["bind"] == f"/home/g2024/alice/jupyter/works/.volumes/{SUBMIT}"
    assert parsed(spec).paths.home == Path("/home/g2024/alice")
    assert spec_for("alice", group="g2024").home == "/home/alice"  # default layout: <root>/<user>
    with pytest.raises(SpecError, match="group name"):
        spec_for("alice", group="../etc", home_by_group=True)


def test_no_limits_and_site_defaults():
    spec = spec_for("alice", "lms_users=*\nlms_vol_a=x\n", default_image="site/img")
    kw = spec.to_docker_kwargs()
    assert kw["image"] == "site/img"
    assert spec.mem_limit is None and spec.nano_cpus is None  # unset: the site default applies
    assert "mem_limit" not in kw and "nano_cpus" not in kw
    assert spec.default_url == "/lab" and spec.actlimit is None
    assert "NB_ACTLIMIT" not in kw["environment"]
    with pytest.raises(SpecError, match="no image"):
        spec_for("alice", "lms_users=*\n")


def test_zero_limits_are_no_limit_not_the_site_default():
    """SPEC 4/12: lms_cpulimit=0.0 and lms_memlimit=0 are the old module's 'no limit' choices."""
    spec = spec_for("alice", "lms_users=*\nlms_image=i\nlms_cpulimit=0.0\nlms_memlimit=0\n")
    assert spec.mem_limit == 0 and spec.nano_cpus == 0
    kw = spec.to_docker_kwargs()
    assert kw["mem_limit"] == 0 and kw["nano_cpus"] == 0  # Docker's 0: unlimited
    assert "mem_reservation" not in kw and "cpu_shares" not in kw


def test_guarantees_become_reservations():
    text = "lms_users=*\nlms_image=i\nlms_cpulimit=2\nlms_memlimit=2G\nlms_cpugrnt=0.5\nlms_memgrnt=512M\n"
    spec = spec_for("alice", text)
    kw = spec.to_docker_kwargs()
    assert kw["mem_reservation"] == 512 * 1024**2
    assert kw["cpu_shares"] == 512  # 1024 per CPU, Docker's default weight being one CPU
    assert kw["mem_limit"] == 2 * 1024**3 and kw["nano_cpus"] == 2_000_000_000
    # empty or 0: no guarantee
    for empty in ("lms_cpugrnt=\nlms_memgrnt=", "lms_cpugrnt=0\nlms_memgrnt=0"):
        kw = spec_for("alice", f"lms_users=*\nlms_image=i\n{empty}\n").to_docker_kwargs()
        assert "mem_reservation" not in kw and "cpu_shares" not in kw
    with pytest.raises(SpecError, match="lms_memgrnt='lots' is not a number of bytes"):
        spec_for("alice", "lms_users=*\nlms_image=i\nlms_memgrnt=lots\n")


def test_users_outside_lms_users_mount_nothing():
    spec = spec_for("mallory", "lms_users=alice\nlms_image=i\nlms_vol_a=x\nlms_sub_a=y\n")
    assert spec.mounts == [] and spec.environment["NB_VOLUMES"] == ""


@pytest.mark.parametrize("user", ["山田太郎", "a@b.example", "x y", "-dash"])
def test_container_names_are_valid_for_any_user(user):
    if user in ("x y", "-dash"):
        with pytest.raises(SpecError):
            spec_for(user)
        return
    name = spec_for(user).name
    assert CONTAINER_NAME_RE.fullmatch(name)
    assert name.startswith(f"jupyterhub-98-7-{HOST}-r4nd-")


def test_names_are_random_and_bounded():
    a, b = container_name("98", "7", HOST, "u"), container_name("98", "7", HOST, "u")
    assert a != b
    long = container_name("c" * 150, "7", HOST, "user" * 30, random="r")
    assert len(long) <= 200 and CONTAINER_NAME_RE.fullmatch(long) and long.endswith("user")


@pytest.mark.parametrize("bad", [{"course": "a b"}, {"host": "h:80"}, {"lti_id": " "}])
def test_bad_launch_parts_are_refused(bad):
    args = {"course": "98", "lti_id": "7", "host": HOST, **bad}
    with pytest.raises(Exception) as info:
        build_spec(parse(PARAMS), "alice", uid=1, gid=1, **args)
    assert "\n" not in str(info.value)


def test_cli_prints_json_for_the_spawner(tmp_path: Path):
    params = tmp_path / "params.txt"
    params.write_text(PARAMS, encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        [
            "container-spec",
            "--params",
            str(params),
            "--user",
            "alice",
            "--uid",
            "1001",
            "--gid",
            "100",
            "--course",
            "98",
            "--lti-id",
            "7",
            "--host",
            HOST,
            "--random",
            "r4nd",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["docker"]["name"] == f"jupyterhub-98-7-{HOST}-r4nd-alice"
    assert data["docker"]["environment"]["NB_USER"] == "alice"
    assert data["default_url"] == "/tree" and data["home"] == "/home/alice"
    result = CliRunner().invoke(
        cli,
        [
            "container-spec",
            "--params",
            str(params),
            "--user",
            "tea",
            "--uid",
            "1",
            "--gid",
            "1",
            "--course",
            "98",
            "--lti-id",
            "7",
            "--host",
            HOST,
        ],
    )
    assert result.exit_code == 0 and "NB_TEACHER=tea" in result.output
    result = CliRunner().invoke(
        cli,
        [
            "container-spec",
            "--params",
            str(tmp_path / "nope"),
            "--user",
            "a",
            "--uid",
            "1",
            "--gid",
            "1",
            "--course",
            "98",
            "--lti-id",
            "7",
            "--host",
            HOST,
        ],
    )
    assert result.exit_code == 1 and "error:" in result.output


def test_cli_says_site_default_and_no_limit_apart_and_takes_the_old_layout(tmp_path: Path):
    params = tmp_path / "params.txt"
    base = ["container-spec", "--params", str(params), "--user", "alice", "--uid", "1", "--gid", "1"]
    base += ["--course", "98", "--lti-id", "7", "--host", HOST, "--default-image", "site/img"]
    params.write_text("lms_users=*\n", encoding="utf-8")
    out = CliRunner().invoke(cli, base).output
    assert "memory:      site default" in out and "cpus:        site default" in out
    params.write_text("lms_users=*\nlms_memlimit=0\nlms_cpulimit=0.0\nlms_memgrnt=64M\n", encoding="utf-8")
    out = CliRunner().invoke(cli, [*base, "--group", "g1", "--home-by-group"]).output
    assert "memory:      no limit" in out and "cpus:        no limit" in out
    assert "memory guarantee: 67108864" in out
    assert "home:        /home/g1/alice" in out and "NB_GROUP=g1" in out
