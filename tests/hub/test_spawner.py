"""LTIContainerSpawner without a hub: launch -> role -> spec -> DockerSpawner settings -> create kwargs."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import docker
import pytest
from traitlets.config import Config

from ipynb_tools.hub.spawner import LaunchRefused, LTIContainerSpawner
from ipynb_tools.launch import (
    LTI13_CONTEXT_CLAIM,
    LTI13_CUSTOM_CLAIM,
    LTI13_RESOURCE_LINK_CLAIM,
    LTI13_ROLES_CLAIM,
    matching_role,
    read_launch,
    refusal,
    role_name,
)

HOST = "moodle.example.ac.jp"
SITE_IMAGE = "site/jupyter:1"


def lti11(**custom: str) -> dict[str, str]:
    """auth_state as LTI11Authenticator stores it: the form fields without oauth_*."""
    state = {
        "lti_message_type": "basic-lti-launch-request",
        "lti_version": "LTI-1p0",
        "context_id": "98",
        "resource_link_id": "7",
        "roles": "Learner",
        "tool_consumer_instance_guid": HOST,
        "launch_presentation_return_url": f"https://{HOST}/mod/lti/return.php?course=98",
        "ext_user_username": "alice",
        "user_id": "31",
    }
    state.update({f"custom_{k}": v for k, v in custom.items()})
    return state


COURSE = {
    "lms_teachers": "tanaka",
    "lms_users": "*",
    "lms_vol_k1": "課題1",
    "lms_sub_k1": "課題1提出用",
    "lms_prs_k1": "個人",
    "lms_sub_k0": "締切済み",
    "lms_sub_k0_close": "1700000000",
    "lms_memlimit": "500,000,000",
    "lms_cpulimit": "1.5",
    "lms_defurl": "/tree",
    "lms_sessioninfo": "12,345",
}


def make_spawner(name: str = "alice", uid: int = 7, **config: Any) -> LTIContainerSpawner:
    c = Config()
    c.DockerSpawner.image = SITE_IMAGE
    c.DockerSpawner.volumes = {"jupyterhub-user-{username}": "/home/{username}"}
    c.DockerSpawner.environment = {"SITE_VAR": "1"}
    c.DockerSpawner.mem_limit = "1G"
    c.DockerSpawner.network_name = "host"
    c.LTIContainerSpawner.lookup_host_users = False
    for key, value in config.items():
        setattr(c.LTIContainerSpawner, key, value)
    user = SimpleNamespace(
        name=name,
        id=uid,
        url=f"/user/{name}/",
        escaped_name=name,
        base_url="/",
        settings={},
        server=None,
        progress_url=lambda n: "",
    )
    hub = SimpleNamespace(public_host="", api_url="http://127.0.0.1:8081/hub/api", base_url="/hub/")
    return LTIContainerSpawner(user=user, hub=hub, config=c, _deprecated_db_session=None)


# -- reading the launch --------------------------------------------------------------------
def test_lti11_launch_is_read_from_custom_fields() -> None:
    launch = read_launch(lti11(**COURSE))
    assert launch.version == "1.1"
    assert (launch.course, launch.lti_id, launch.host) == ("98", "345", HOST)
    assert launch.params.teachers == ("tanaka",)
    assert launch.params.memlimit == 500_000_000
    assert launch.errors == []
    assert refusal(launch) is None


def test_lti13_launch_is_read_from_claims() -> None:
    claims = {
        "iss": f"https://{HOST}",
        LTI13_CUSTOM_CLAIM: {"lms_users": "*", "lms_sub_k1": "課題1提出用"},
        LTI13_ROLES_CLAIM: ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
        LTI13_CONTEXT_CLAIM: {"id": "98"},
        LTI13_RESOURCE_LINK_CLAIM: {"id": "7"},
    }
    launch = read_launch(claims)
    assert launch.version == "1.3"
    assert (launch.course, launch.lti_id, launch.host) == ("98", "7", HOST)
    assert matching_role(launch.roles, ["Instructor"]) is not None
    assert [v.access for v in launch.params.volumes] == ["課題1提出用"]


def test_site_lms_host_wins() -> None:
    assert read_launch(lti11(), lms_host="lms.site.jp").host == "lms.site.jp"


@pytest.mark.parametrize(
    "role,short",
    [
        ("urn:lti:role:ims/lis/Instructor", "Instructor"),
        ("http://purl.imsglobal.org/vocab/lis/v2/membership#Learner", "Learner"),
        ("urn:lti:instrole:ims/lis/Administrator", "Administrator"),
        ("Instructor", "Instructor"),
    ],
)
def test_role_names(role: str, short: str) -> None:
    assert role_name(role) == short


# -- the spawner's settings ----------------------------------------------------------------
def test_student_gets_the_spec() -> None:
    s = make_spawner()
    spec = s.prepare(lti11(**COURSE), now=1_800_000_000)
    works = "/home/alice/jupyter/works/.volumes"
    assert s.image == SITE_IMAGE
    assert (
        s.object_name == spec.name
        and spec.name.startswith(f"jupyterhub-98-345-{HOST}-")
        and spec.name.endswith("-alice")
    )
    assert s.volumes == {
        "jupyterhub-user-{username}": "/home/{username}",
        f"lms_vol_k1_98_{HOST}": {"bind": f"{works}/lms_vol_k1_98_{HOST}", "mode": "rw"},
        f"lms_sub_k1_98_{HOST}": {"bind": f"{works}/lms_sub_k1_98_{HOST}", "mode": "rw"},
    }  # lms_sub_k0 closed at 1700000000: a student's container does not get it (SPEC 12)
    env = s.environment
    assert env["SITE_VAR"] == "1"
    assert env["NB_USER"] == "alice" and env["NB_TEACHER"] == ""
    assert (env["NB_UID"], env["NB_GID"], env["NB_GROUP"]) == ("30031", "100", "users")  # 30000 + LMS user_id
    assert env["NB_UMASK"] == "0037"
    assert env["NB_SUBMITS"] == f".volumes/lms_sub_k1_98_{HOST}:課題1提出用"
    assert env["NB_PRSNALS"] == f".volumes/lms_prs_k1_98_{HOST}:個人"
    assert env["NB_SUBMITS_CLOSE"] == ""
    assert s.mem_limit == 500_000_000
    assert s.cpu_limit == 1.5
    assert s.default_url == "/tree"


def test_teacher_by_lms_teachers() -> None:
    s = make_spawner("tanaka")
    s.prepare(lti11(**COURSE))
    assert s.environment["NB_TEACHER"] == "tanaka"
    assert s.environment["NB_UMASK"] == "0033"
    assert s.role_message() == "You start as a teacher: listed in lms_teachers."


def progress_messages(s: LTIContainerSpawner) -> list[str]:
    async def collect() -> list[str]:
        return [event["message"] async for event in s.progress()]

    return asyncio.run(collect())


def test_an_lti_instructor_is_a_student_by_default_the_old_rule() -> None:
    """SPEC 12: teachers are the users in lms_teachers; a Moodle Instructor (or TA) is not one by role."""
    state = lti11(**COURSE) | {"roles": "urn:lti:role:ims/lis/Instructor,Learner"}
    s = make_spawner("suzuki")
    s.prepare(state)
    assert s.environment["NB_TEACHER"] == "" and s.environment["NB_UMASK"] == "0037"
    assert s.spec is not None and s.spec.labels["io.ipynb-tools.role"] == "student"
    assert progress_messages(s)[0] == "You start as a student (not a teacher by lms_teachers)."


def test_teacher_by_lti_role_is_a_site_option_and_the_rule_is_said(caplog: pytest.LogCaptureFixture) -> None:
    state = lti11(**COURSE) | {"roles": "urn:lti:role:ims/lis/Instructor,Learner"}
    s = make_spawner("suzuki", teachers_by_lti_role=True)
    with caplog.at_level("INFO"):
        s.prepare(state)
    assert s.environment["NB_TEACHER"] == "suzuki"
    said = "You start as a teacher: LTI role Instructor (teachers_by_lti_role)."
    assert progress_messages(s)[0] == said
    assert "as teacher (LTI role Instructor (teachers_by_lti_role))" in caplog.text
    # listed in lms_teachers wins as the reason; a Learner stays a student under either rule
    t = make_spawner("tanaka", teachers_by_lti_role=True)
    t.prepare(state)
    assert t.role_message() == "You start as a teacher: listed in lms_teachers."
    learner = make_spawner("suzuki", teachers_by_lti_role=True)
    learner.prepare(lti11(**COURSE))
    assert learner.environment["NB_TEACHER"] == ""
    s = make_spawner("suzuki", teachers_by_lti_role=True, teacher_roles=[])
    s.prepare(state)
    assert s.environment["NB_TEACHER"] == ""


def test_site_defaults_when_the_activity_sets_nothing_and_no_leftovers_from_a_previous_launch() -> None:
    s = make_spawner()
    s.prepare(lti11(**COURSE))
    s.prepare(lti11(lms_users="*"))
    assert s.volumes == {"jupyterhub-user-{username}": "/home/{username}"}
    assert s.mem_limit == 1024**3
    assert not s.cpu_limit  # None or 0.0: no CPU quota
    assert s.default_url == "/lab"
    assert s.environment["NB_SUBMITS"] == ""
    assert s.environment["SITE_VAR"] == "1"


def test_uid_is_stable_when_the_hub_database_is_reset() -> None:
    """SPEC 12: base (30000) + the LMS user_id, not the hub's user row id (issue 16 item 3)."""
    before = make_spawner("alice", uid=7)
    before.prepare(lti11(**COURSE))
    after = make_spawner("alice", uid=1)  # a fresh hub database numbers its users anew
    after.prepare(lti11(**COURSE))
    assert before.environment["NB_UID"] == after.environment["NB_UID"] == "30031"
    s = make_spawner(uid_base=50000, default_gid=500, default_group="students")
    s.prepare(lti11(**COURSE))
    assert (s.environment["NB_UID"], s.environment["NB_GID"], s.environment["NB_GROUP"]) == ("50031", "500", "students")


def test_lms_extension_fields_give_uid_and_group() -> None:
    state = lti11(**COURSE) | {"ext_user_userid": "4711", "ext_user_groupid": "2024", "ext_user_groupname": "g2024"}
    s = make_spawner()
    s.prepare(state)
    assert (s.environment["NB_UID"], s.environment["NB_GID"], s.environment["NB_GROUP"]) == ("4711", "2024", "g2024")
    s = make_spawner(lms_user_fields=False)
    s.prepare(state)
    assert (s.environment["NB_UID"], s.environment["NB_GROUP"]) == ("30031", "users")


@pytest.mark.parametrize(
    "fields,words",
    [
        ({"ext_user_userid": "0"}, "out of range"),
        ({"ext_user_userid": "12a"}, "not a decimal number"),
        ({"ext_user_groupname": "../x"}, "ext_user_groupname"),
        ({"user_id": ""}, "no LMS user_id"),
    ],
)
def test_unusable_identity_from_the_lms_is_refused(fields: dict[str, str], words: str) -> None:
    s = make_spawner()
    with pytest.raises(LaunchRefused) as info:
        s.prepare(lti11(**COURSE) | fields)
    assert words in info.value.jupyterhub_message and "\n" not in info.value.jupyterhub_message


def test_old_home_layout_and_group_in_volume_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    """home_by_group: /home/<group>/<user>; the site's volumes may name {group}."""
    state = lti11(**COURSE) | {"ext_user_groupname": "g2024"}
    s = make_spawner(home_by_group=True, volumes={"/srv/homes/{group}/{username}": "/home/{group}/{username}"})
    s.prepare(state)
    assert s.environment["NB_HOME"] == s.environment["NB_DIR"] == "/home/g2024/alice"
    host = created_host_config(monkeypatch, s)
    assert "/srv/homes/g2024/alice:/home/g2024/alice:rw" in host["Binds"]
    works = "/home/g2024/alice/jupyter/works/.volumes"
    assert f"lms_sub_k1_98_{HOST}:{works}/lms_sub_k1_98_{HOST}:rw" in host["Binds"]


def test_user_ids_hook_and_host_lookup() -> None:
    s = make_spawner(user_ids=lambda spawner: (4242, 4343))
    s.prepare(lti11(**COURSE))
    assert (s.environment["NB_UID"], s.environment["NB_GID"]) == ("4242", "4343")
    s = make_spawner(user_ids=lambda spawner: (4242, 4343, spawner.launch.lms_user.user_id + "grp"))
    s.prepare(lti11(**COURSE))
    assert s.environment["NB_GROUP"] == "31grp"
    s = make_spawner("root", lookup_host_users=True)
    s.prepare(lti11(**COURSE))
    assert (s.environment["NB_UID"], s.environment["NB_GID"]) == ("0", "0")


# -- refusals ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "state,words",
    [
        (lti11(lms_memlimit="100"), "memory limit 100 bytes"),
        (lti11(lms_cpulimit="lots"), "lms_cpulimit"),
        ({k: v for k, v in lti11().items() if k != "context_id"}, "no course id"),
        (None, "enable_auth_state"),
        ({}, "enable_auth_state"),
    ],
)
def test_bad_launch_is_refused_with_a_message_for_the_user(state: Any, words: str) -> None:
    s = make_spawner()
    with pytest.raises(LaunchRefused) as info:
        s.prepare(state)
    assert info.value.status_code == 400
    assert words in info.value.jupyterhub_message
    assert "\n" not in info.value.jupyterhub_message
    assert s.spec is None


def test_image_filter() -> None:
    s = make_spawner(image_filter="site/")
    s.prepare(lti11(lms_image="site/python:2"))
    assert s.image == "site/python:2"
    with pytest.raises(LaunchRefused, match="does not offer"):
        s.prepare(lti11(lms_image="evil/miner:1"))
    s.prepare(lti11(lms_image="default"))
    assert s.image == SITE_IMAGE


def test_user_name_that_cannot_be_a_login_is_refused() -> None:
    s = make_spawner("a b")
    with pytest.raises(LaunchRefused) as info:
        s.prepare(lti11(**COURSE))
    assert "cannot be a login" in info.value.jupyterhub_message


# -- what reaches Docker -------------------------------------------------------------------
def test_create_kwargs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The container DockerSpawner creates: labels, root for setup, host network, binds, limits, env."""
    monkeypatch.setattr(
        LTIContainerSpawner, "_client", docker.APIClient(base_url="unix:///nonexistent", version="1.43")
    )
    s = make_spawner(cmd=["/start.sh"])
    s.cmd = ["/start.sh"]
    spec = s.prepare(lti11(**COURSE))
    s.port = 40123
    s.ip = "127.0.0.1"
    calls: dict[str, Any] = {}

    async def fake_docker(method: str, *args: Any, **kwargs: Any) -> Any:
        calls[method] = kwargs
        return {"Id": "abc"}

    s.docker = fake_docker  # type: ignore[method-assign]
    asyncio.run(s.create_object())
    kw = calls["create_container"]
    assert kw["name"] == spec.name
    assert kw["image"] == SITE_IMAGE
    assert kw["user"] == "root"
    assert kw["labels"]["io.ipynb-tools.course"] == "98"
    assert kw["labels"]["io.ipynb-tools.role"] == "student"
    assert kw["environment"]["NB_USER"] == "alice"
    assert kw["environment"]["JUPYTERHUB_USER"] == "alice"
    assert kw["environment"]["JUPYTERHUB_SERVICE_URL"] == "http://127.0.0.1:40123/"
    host = kw["host_config"]
    assert host["NetworkMode"] == "host"
    assert host["Memory"] == 500_000_000
    assert host["CpuQuota"] == 150_000 and host["CpuPeriod"] == 100_000
    assert f"lms_sub_k1_98_{HOST}:/home/alice/jupyter/works/.volumes/lms_sub_k1_98_{HOST}:rw" in host["Binds"]
    assert "jupyterhub-user-alice:/home/alice:rw" in host["Binds"]
    assert kw["command"] == ["/start.sh"]
    assert asyncio.run(s.get_ip_and_port()) == ("127.0.0.1", 40123)


def created_host_config(monkeypatch: pytest.MonkeyPatch, s: LTIContainerSpawner) -> dict[str, Any]:
    """The host config DockerSpawner would send for the prepared spawner ``s``."""
    monkeypatch.setattr(
        LTIContainerSpawner, "_client", docker.APIClient(base_url="unix:///nonexistent", version="1.43")
    )
    s.port, s.ip = 40123, "127.0.0.1"
    s.cmd = ["/start.sh"]
    calls: dict[str, Any] = {}

    async def fake_docker(method: str, *args: Any, **kwargs: Any) -> Any:
        calls[method] = kwargs
        return {"Id": "abc"}

    s.docker = fake_docker  # type: ignore[method-assign]
    asyncio.run(s.create_object())
    return dict(calls["create_container"]["host_config"])


def test_zero_limits_are_no_limit_over_the_site_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """lms_memlimit=0 / lms_cpulimit=0.0: no limit at all, although the site has defaults (1G, 3 CPUs)."""
    s = make_spawner(cpu_limit=3.0)
    s.prepare(lti11(lms_users="*", lms_memlimit="0", lms_cpulimit="0.0"))
    assert s.mem_limit is None and s.cpu_limit is None
    host = created_host_config(monkeypatch, s)
    assert not host.get("Memory") and not host.get("CpuQuota") and not host.get("NanoCpus")
    # unset: the site's defaults
    s = make_spawner(cpu_limit=3.0)
    s.prepare(lti11(lms_users="*"))
    assert s.mem_limit == 1024**3 and s.cpu_limit == 3.0
    host = created_host_config(monkeypatch, s)
    assert host["Memory"] == 1024**3 and host["CpuQuota"] == 300_000


def test_guarantees_reach_the_engine_as_reservations(monkeypatch: pytest.MonkeyPatch) -> None:
    s = make_spawner(extra_host_config={"pids_limit": 500})
    s.prepare(lti11(lms_users="*", lms_cpugrnt="0.5", lms_memgrnt="256M"))
    assert s.mem_guarantee == 256 * 1024**2 and s.cpu_guarantee == 0.5
    host = created_host_config(monkeypatch, s)
    assert host["MemoryReservation"] == 256 * 1024**2
    assert host["CpuShares"] == 512
    assert host["PidsLimit"] == 500  # the site's own host config stays
    env = s.get_env()
    assert env["MEM_GUARANTEE"] == str(256 * 1024**2) and env["CPU_GUARANTEE"] == "0.5"
    # the next launch without guarantees leaves none behind
    s.prepare(lti11(lms_users="*"))
    host = created_host_config(monkeypatch, s)
    assert "MemoryReservation" not in host and "CpuShares" not in host and host["PidsLimit"] == 500


def test_a_memory_guarantee_above_the_site_limit_is_refused_with_a_reason() -> None:
    """The site's default mem_limit is 1G here; Docker refuses a reservation above the limit."""
    s = make_spawner()
    with pytest.raises(LaunchRefused) as info:
        s.prepare(lti11(lms_users="*", lms_memgrnt="2G"))
    assert "above the memory limit" in info.value.jupyterhub_message and s.spec is None
    s.prepare(lti11(lms_users="*", lms_memgrnt="2G", lms_memlimit="0"))  # no limit: any guarantee
    assert s.mem_guarantee == 2 * 1024**3 and s.mem_limit is None


@pytest.mark.parametrize(
    ("custom", "site_default", "expected"),
    [
        ({}, None, "6000"),  # unset: the site default, the old spawner's 6,000 s (SPEC 12)
        ({"lms_actlimit": "1800"}, None, "1800"),
        ({"lms_actlimit": "0"}, None, "0"),  # 0: no limit, never the site default (issue 16 item 2's rule)
        ({}, 900, "900"),
        ({}, 0, "0"),  # a site without a default limit
        ({"lms_actlimit": "1800"}, 0, "1800"),
    ],
)
def test_activity_limit_and_grace_reach_the_container(
    custom: dict[str, str], site_default: int | None, expected: str
) -> None:
    s = make_spawner()
    if site_default is not None:
        s.actlimit_default = site_default
    s.actlimit_grace = 45
    s.prepare(lti11(**COURSE, **custom))
    assert (s.environment["NB_ACTLIMIT"], s.environment["IPYNB_ACTLIMIT_GRACE"]) == (expected, "45")
    assert s.effective_actlimit() == int(expected)


def test_hub_backstop_waits_for_the_container_s_own_stop() -> None:
    """The hub's timer fires after limit + grace + backstop, so the container saves and stops first."""
    s = make_spawner()
    s.prepare(lti11(**COURSE, lms_actlimit="10"))
    s.actlimit_grace, s.actlimit_backstop = 5, 3
    waits: list[tuple[int, int]] = []

    async def stop_after(limit: int, seconds: int, object_id: str | None) -> None:
        waits.append((limit, seconds))

    s._stop_after = stop_after  # type: ignore[method-assign]

    async def scenario() -> None:
        s._schedule_actlimit()
        await asyncio.sleep(0)

    asyncio.run(scenario())
    assert waits == [(10, 18)]
    s.prepare(lti11(**COURSE, lms_actlimit="0"))  # no limit: no timer
    waits.clear()
    asyncio.run(scenario())
    assert waits == []


def test_activity_limit_stops_the_server_once() -> None:
    s = make_spawner()
    s.prepare(lti11(**COURSE, lms_actlimit="1"))
    stopped: list[str] = []

    async def stop(name: str) -> None:
        stopped.append(name)

    s.user.stop = stop
    s.object_id = "c1"

    async def scenario() -> None:
        s.actlimit_unit = 0.05  # seconds per lms_actlimit second, for the test
        s.actlimit_grace = s.actlimit_backstop = 0  # the hub's backstop at the bare limit
        s._schedule_actlimit()
        await asyncio.sleep(0.3)

    asyncio.run(scenario())
    assert stopped == [""]

    # a server replaced before the limit is not stopped by the old timer
    stopped.clear()

    async def replaced() -> None:
        s._schedule_actlimit()
        s.object_id = "c2"
        await asyncio.sleep(0.3)

    asyncio.run(replaced())
    assert stopped == []


# -- execution logs (docs/execlog.md) -------------------------------------------------------
def test_execlog_url_and_source_option_reach_the_container_and_the_launch_is_recorded(tmp_path) -> None:
    from ipynb_tools.execlog.query import Filters, stats
    from ipynb_tools.execlog.records import SERVER, SESSION, ExecRecord
    from ipynb_tools.execlog.store import Store

    plain = make_spawner()
    plain.prepare(lti11(**COURSE))
    assert not any(k.startswith("IPYNB_EXECLOG") for k in plain.environment)
    db = tmp_path / "execlog.sqlite"
    sp = make_spawner(execlog_url="https://hub.example/services/execlog/", execlog_source=True, execlog_db=str(db))
    sp.prepare(lti11(**COURSE))
    assert sp.environment["IPYNB_EXECLOG_URL"] == "https://hub.example/services/execlog/"
    assert sp.environment["IPYNB_EXECLOG_SOURCE"] == "1"
    assert sp.environment["SITE_VAR"] == "1"
    asyncio.run(sp.record_launch())
    with Store.open(db) as store:
        launch = store.latest_launch("alice")
        assert launch is not None and (launch.course, launch.inst_id, launch.lti_id) == ("98", "12", "345")
        # the old proxy's records carry lms_sessioninfo's LTI id and no course: the launch gives the course
        store.ingest(
            [
                ExecRecord(kind=SESSION, session="s", inst_id="12", lti_id="345"),
                ExecRecord(kind=SERVER, session="s", message="m", status="ok", username="alice", date_us=1),
            ]
        )
        assert stats(store, Filters(course="98")).executions == 1
