"""The engine layer against the real private engines (Docker, and Podman's Docker-compatible API)."""

from __future__ import annotations

import contextlib
import socket

import pytest

from ipynb_tools.volumes import course as vols
from ipynb_tools.volumes import engine as eng
from ipynb_tools.volumes.naming import LABEL_COURSE, LABEL_HOST, LABEL_KIND, LABEL_NAME, VolumeName, VolumeNameError

from .conftest import FakeParams, FakeVolumeParam

HOST = "el.mml.tuis.ac.jp"
HOST2 = "moodle.example.org"


def names(volumes):
    return [v.full_name for v in volumes]


# ---------------------------------------------------------------- both engines


def test_create_list_remove(engine, course):
    with eng.connect(engine.url) as e:
        results = vols.create_for_params(
            e,
            FakeParams([FakeVolumeParam("vol", "abc"), FakeVolumeParam("sub", "abc"), FakeVolumeParam("prs", "abc")]),
            course,
            HOST,
        )
        assert [(r.full_name, r.created) for r in results] == [
            (f"lms_vol_abc_{course}_{HOST}", True),
            (f"lms_sub_abc_{course}_{HOST}", True),
        ]
        listed = vols.list_volumes(e, course, HOST)
        assert names(listed) == [f"lms_vol_abc_{course}_{HOST}", f"lms_sub_abc_{course}_{HOST}"]
        task = listed[0]
        assert (task.kind, task.kind_label, task.name, task.course, task.host) == ("vol", "task", "abc", course, HOST)
        assert task.labels == {LABEL_COURSE: course, LABEL_HOST: HOST, LABEL_KIND: "vol", LABEL_NAME: "abc"}
        assert task.created and not task.in_use and task.labelled
        removed = vols.remove_volumes(e, ["vol_abc"], course, HOST)
        assert [r.full_name for r in removed] == [f"lms_vol_abc_{course}_{HOST}"]
        assert names(vols.list_volumes(e, course, HOST)) == [f"lms_sub_abc_{course}_{HOST}"]
        vols.remove_volumes(e, [f"lms_sub_abc_{course}_{HOST}"], course, HOST)
        assert vols.list_volumes(e, course, HOST) == []
    assert engine.client().volumes.list(filters={"name": course}) == []


def test_create_existing_is_a_no_op(engine, course):
    client = engine.client()
    with eng.connect(engine.url) as e:
        first = vols.create_volume(e, "sub", "k1", course, HOST)
        before = client.volumes.get(first.full_name).attrs["CreatedAt"]
        again = vols.create_volume(e, "sub", "k1", course, HOST)
        assert (first.created, again.created, again.note) == (True, False, None)
        assert client.volumes.get(first.full_name).attrs["CreatedAt"] == before


def test_existing_volume_without_labels_is_reported(engine, course):
    """The old module made unlabelled volumes; labels cannot be added afterwards, so we say so."""
    client = engine.client()
    full = VolumeName("vol", "old", course, HOST).full
    client.volumes.create(full)
    with eng.connect(engine.url) as e:
        result = vols.create_volume(e, "vol", "old", course, HOST)
        assert not result.created
        assert set(result.missing_labels) == {LABEL_COURSE, LABEL_HOST, LABEL_KIND, LABEL_NAME}
        assert "cannot add labels" in result.note
        # listed, marked unlabelled: the old module's volumes must stay visible to their course
        (listed,) = vols.list_volumes(e, course, HOST)
        assert listed.full_name == full and not listed.labelled


def test_unlabelled_volumes_are_listed_exactly_and_removed_only_by_full_name(engine, courses):
    """Old-module volumes: listed when the name is exactly this course's; removed only when named in full."""
    course, other = courses
    client = engine.client()
    ours = VolumeName("sub", "legacy", course, HOST).full
    client.volumes.create(ours)
    client.volumes.create(VolumeName("sub", "legacy", f"x_{course}", HOST).full)  # name contains ours
    client.volumes.create(VolumeName("sub", "legacy", course, "other." + HOST).full)
    client.volumes.create(  # labels that say it is another course's: never ours
        VolumeName("vol", "claimed", course, HOST).full, labels={LABEL_COURSE: other, LABEL_HOST: HOST}
    )
    with eng.connect(engine.url) as e:
        assert names(vols.list_volumes(e, course, HOST)) == [ours]
        with pytest.raises(vols.VolumeNotFound):
            vols.remove_volumes(e, ["legacy"], course, HOST)
        with pytest.raises(vols.VolumeNotFound):
            vols.remove_volumes(e, ["claimed"], course, HOST)
        assert client.volumes.get(ours)
        vols.remove_volumes(e, [ours], course, HOST)
        assert vols.list_volumes(e, course, HOST) == []
    left = {v.name for v in client.volumes.list()}
    assert VolumeName("sub", "legacy", f"x_{course}", HOST).full in left
    assert VolumeName("vol", "claimed", course, HOST).full in left


def test_list_filters_by_labels_and_name(engine, courses):
    course, other = courses
    client = engine.client()
    full = VolumeName("vol", "x", course, HOST).full
    # a volume whose labels claim our course but whose name says another: not listed
    client.volumes.create(
        VolumeName("vol", "y", other, HOST).full,
        labels={LABEL_COURSE: course, LABEL_HOST: HOST, LABEL_KIND: "vol", LABEL_NAME: "y"},
    )
    # a non-course volume with our labels: not listed
    client.volumes.create(f"plain-{course}", labels={LABEL_COURSE: course, LABEL_HOST: HOST})
    with eng.connect(engine.url) as e:
        vols.create_volume(e, "vol", "x", course, HOST)
        assert names(vols.list_volumes(e, course, HOST)) == [full]
    client.volumes.get(f"plain-{course}").remove()


def test_two_courses_two_hosts_side_by_side(engine, courses):
    a, b = courses
    with eng.connect(engine.url) as e:
        for c in (a, b):
            for h in (HOST, HOST2):
                vols.create_for_params(
                    e, FakeParams([FakeVolumeParam("vol", "t1"), FakeVolumeParam("sub", "t1")]), c, h
                )
        for c in (a, b):
            for h in (HOST, HOST2):
                assert names(vols.list_volumes(e, c, h)) == [f"lms_vol_t1_{c}_{h}", f"lms_sub_t1_{c}_{h}"]
        vols.remove_volumes(e, ["t1"], a, HOST)  # bare NAME: task and submit
        assert vols.list_volumes(e, a, HOST) == []
        assert len(vols.list_volumes(e, a, HOST2)) == 2
        assert len(vols.list_volumes(e, b, HOST)) == 2
        assert len(vols.list_volumes(e, b, HOST2)) == 2


def test_remove_refuses_other_courses_personal_and_unknown(engine, courses):
    a, b = courses
    with eng.connect(engine.url) as e:
        vols.create_volume(e, "vol", "t", a, HOST)
        vols.create_volume(e, "vol", "t", b, HOST)
        with pytest.raises(vols.NotRemovable, match="belongs to course"):
            vols.remove_volumes(e, [f"lms_vol_t_{b}_{HOST}"], a, HOST)
        with pytest.raises(vols.NotRemovable, match="personal"):
            vols.remove_volumes(e, ["prs_t"], a, HOST)
        with pytest.raises(vols.NotRemovable, match="personal"):
            vols.remove_volumes(e, [f"lms_prs_t_{a}_{HOST}"], a, HOST)
        # one unknown name stops the whole call: nothing removed
        with pytest.raises(vols.VolumeNotFound, match="'nosuch'"):
            vols.remove_volumes(e, ["vol_t", "nosuch"], a, HOST)
        assert len(vols.list_volumes(e, a, HOST)) == 1
        with pytest.raises(vols.VolumeNotFound):
            vols.remove_volumes(e, ["vol_t"], a, HOST2)  # same course id, other LMS host
        assert len(vols.list_volumes(e, b, HOST)) == 1


def test_invalid_names_touch_nothing(engine, course):
    client = engine.client()
    before = {v.name for v in client.volumes.list()}
    with eng.connect(engine.url) as e:
        for kind, name, c, h in [
            ("vol", "ABC", course, HOST),
            ("vol", "a_b", course, HOST),
            ("vol", "", course, HOST),
            ("vol", "ok", "bad course", HOST),
            ("vol", "ok", course, "host_with_underscore"),
            ("vol", "ok", course, "host:8080"),
            ("xyz", "ok", course, HOST),
        ]:
            with pytest.raises(VolumeNameError):
                vols.create_volume(e, kind, name, c, h)
        with pytest.raises(vols.NotRemovable):
            vols.create_volume(e, "prs", "ok", course, HOST)
        with pytest.raises(VolumeNameError):
            vols.list_volumes(e, "../etc", HOST)
        with pytest.raises(VolumeNameError):
            vols.remove_volumes(e, ["vol_UPPER"], course, HOST)
    assert {v.name for v in client.volumes.list()} == before


def test_volume_in_use_is_refused_unless_forced(engine, image_for, course):
    tiny_image = image_for(engine, "tiny")
    client = engine.client()
    with eng.connect(engine.url) as e:
        full = vols.create_volume(e, "sub", "busy", course, HOST).full_name
        vols.create_volume(e, "vol", "busy", course, HOST)
        box = client.containers.run(
            tiny_image,
            ["sleep", "300"],
            name=f"student-{course}",
            detach=True,
            network_mode="none",
            volumes={full: {"bind": "/data", "mode": "rw"}},
        )
        try:
            listed = {v.full_name: v for v in vols.list_volumes(e, course, HOST)}
            assert [c.name for c in listed[full].used_by] == [f"student-{course}"]
            assert listed[full].used_by[0].state == "running"
            with pytest.raises(vols.VolumeInUse, match=f"in use by student-{course} \\(running\\)"):
                vols.remove_volumes(e, ["busy"], course, HOST)
            # refused as a whole: the task volume that was free is still there too
            assert len(vols.list_volumes(e, course, HOST)) == 2
            assert client.containers.get(box.id).status == "running"
            results = vols.remove_volumes(e, ["busy"], course, HOST, force=True)
            assert {r.full_name: [c.name for c in r.removed_containers] for r in results}[full] == [f"student-{course}"]
            assert vols.list_volumes(e, course, HOST) == []
        finally:
            with contextlib.suppress(Exception):  # best-effort cleanup
                client.containers.get(box.id).remove(force=True)


def test_stopped_container_also_blocks_removal(engine, image_for, course):
    tiny_image = image_for(engine, "tiny")
    client = engine.client()
    with eng.connect(engine.url) as e:
        full = vols.create_volume(e, "vol", "st", course, HOST).full_name
        box = client.containers.create(
            tiny_image,
            ["true"],
            volumes={full: {"bind": "/d", "mode": "ro"}},
            network_mode="none",
            name=f"stopped-{course}",
        )
        try:
            with pytest.raises(vols.VolumeInUse, match=f"in use by stopped-{course} \\((created|configured|exited)\\)"):
                vols.remove_volumes(e, ["vol_st"], course, HOST)
        finally:
            box.remove(force=True)
        vols.remove_volumes(e, ["vol_st"], course, HOST)


# ---------------------------------------------------------------- no engine, or Docker only


def test_engine_unreachable_is_a_clear_error(tmp_path):
    with pytest.raises(eng.EngineError, match="no engine socket there"):
        eng.connect(f"unix://{tmp_path}/missing.sock")


def test_engine_stopped_stale_socket(tmp_path):
    """A socket file left by a stopped engine: connection refused, one line."""
    path = tmp_path / "docker.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # bound, never listening: like an engine that died
    with pytest.raises(eng.EngineError, match="connection refused") as info:
        eng.connect(f"unix://{path}")
    assert "\n" not in str(info.value)


def test_engine_going_away_mid_session(docker_engine, course, tmp_path):
    """An Engine whose socket stops answering: each call fails with EngineError, nothing changes."""
    with eng.connect(docker_engine.url) as e:
        vols.create_volume(e, "vol", "keep", course, HOST)
        e.client.api.base_url = "http+docker://localhost"  # keep the client, lose the engine:
        e.client.api._custom_adapter.socket_path = str(tmp_path / "gone.sock")
        e.client.api.close()
        with pytest.raises(eng.EngineError, match="cannot reach the container engine"):
            vols.remove_volumes(e, ["vol_keep"], course, HOST)
    with eng.connect(docker_engine.url) as e:
        assert len(vols.list_volumes(e, course, HOST)) == 1


@pytest.mark.parametrize(
    "url, message",
    [
        ("foo://bar", "is not unix:///path"),
        ("", "empty"),
        ("tcp://127.0.0.1:notaport", "engine URL"),
        ("tcp://", "engine URL"),
    ],
)
def test_bad_engine_url(url, message):
    with pytest.raises(eng.EngineURLError, match=message):
        eng.connect(url)


def test_tcp_connection_refused():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(eng.EngineError, match="connection refused"):
        eng.connect(f"tcp://127.0.0.1:{port}")


@pytest.mark.parametrize(
    "ref, kinds, name",
    [
        ("abc", ("vol", "sub"), "abc"),
        ("vol_abc", ("vol",), "abc"),
        ("lms_sub_abc", ("sub",), "abc"),
        (f"lms_vol_abc_98_{HOST}", ("vol",), "abc"),
    ],
)
def test_parse_ref(ref, kinds, name):
    parsed = vols.parse_ref(ref, "98", HOST)
    assert (parsed.kinds, parsed.name) == (kinds, name)


@pytest.mark.parametrize("ref", ["ABC", "vol_", "foo_abc", "vol_a-b", "lms_vol_abc_98"])
def test_parse_ref_rejects(ref):
    with pytest.raises((VolumeNameError, vols.NotRemovable)):
        vols.parse_ref(ref, "98", HOST)


def test_engine_calls_do_not_grow_with_volumes(engine, courses):
    """ls = 2 requests, create = 1 + one per missing volume, rm = 2 + one per volume removed."""
    course, other = courses
    with eng.connect(engine.url) as e:
        sent = []
        original = e.client.api.send
        e.client.api.send = lambda request, **kw: (
            sent.append(request.method + " " + request.path_url.split("?")[0]),
            original(request, **kw),
        )[1]
        wanted = [VolumeName(k, f"n{i}", c, HOST) for c in (course, other) for i in range(15) for k in ("vol", "sub")]
        vols.create_volumes(e, wanted)
        assert len(sent) == 1 + 60
        sent.clear()
        vols.create_volumes(e, wanted)  # all exist: one lookup
        assert len(sent) == 1
        sent.clear()
        assert len(vols.list_volumes(e, course, HOST)) == 30
        assert [s.split("/")[-1] for s in sent] == ["volumes", "json"]
        sent.clear()
        vols.remove_volumes(e, ["n1", "vol_n2"], course, HOST)
        assert len(sent) == 2 + 3
