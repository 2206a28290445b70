"""LTISwarmSpawner without a hub or an engine: the service it asks for (the real swarm: test_swarm_nodes.py)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import docker
import pytest
from traitlets.config import Config

from ipynb_tools.hub.spawner import LaunchRefused
from ipynb_tools.hub.swarm import LTISwarmSpawner
from ipynb_tools.spec import MAX_SERVICE_NAME_LENGTH, SERVICE_NAME_RE, container_name, service_name
from ipynb_tools.volumes.shared import SharedStorage

from .test_spawner import COURSE, HOST, SITE_IMAGE, lti11


def make_spawner(root: str = "/srv/jupyter", **config: Any) -> LTISwarmSpawner:
    c = Config()
    c.DockerSpawner.image = SITE_IMAGE
    c.DockerSpawner.volumes = {"jupyterhub-user-{username}": "/home/{username}", "/srv/shared-ro": "/opt/data"}
    c.DockerSpawner.network_name = "host"
    c.DockerSpawner.mem_limit = "1G"
    c.SwarmSpawner.extra_container_spec = {"init": True}
    c.LTIContainerSpawner.lookup_host_users = False
    c.LTISwarmSpawner.shared_volume_root = root
    for key, value in config.items():
        setattr(c.LTISwarmSpawner, key, value)
    user = SimpleNamespace(
        name="alice",
        id=7,
        url="/user/alice/",
        escaped_name="alice",
        base_url="/",
        settings={},
        server=None,
        progress_url=lambda n: "",
    )
    hub = SimpleNamespace(public_host="", api_url="http://127.0.0.1:8081/hub/api", base_url="/hub/")
    return LTISwarmSpawner(user=user, hub=hub, config=c, _deprecated_db_session=None)


def created_service(monkeypatch: pytest.MonkeyPatch, s: LTISwarmSpawner) -> dict[str, Any]:
    monkeypatch.setattr(LTISwarmSpawner, "_client", docker.APIClient(base_url="unix:///nonexistent", version="1.41"))
    s.cmd = ["/start.sh"]
    calls: dict[str, Any] = {}

    async def fake_docker(method: str, *args: Any, **kwargs: Any) -> Any:
        calls.setdefault(method, kwargs)
        return [{"ID": "t1"}] if method == "tasks" else {"ID": "abc"}

    s.docker = fake_docker  # type: ignore[method-assign]
    asyncio.run(s.create_object())
    return dict(calls["create_service"])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("jupyterhub-98-7-el.mml.tuis.ac.jp-0a1b2c3d-alice", "jupyterhub-98-7-el-mml-tuis-ac-jp-0a1b2c3d-alice"),
        ("jupyterhub-98-7-h-0a1b2c3d-___", "jupyterhub-98-7-h-0a1b2c3d"),
    ],
)
def test_service_names_follow_swarms_rule(name: str, expected: str) -> None:
    assert service_name(name) == expected


def test_a_long_name_is_cut_and_stays_unique() -> None:
    a = container_name("course" * 10, "7", "el.mml.tuis.ac.jp", "alice", "0a1b2c3d")
    b = container_name("course" * 10, "7", "el.mml.tuis.ac.jp", "alice", "ffffffff")
    assert len(service_name(a)) <= MAX_SERVICE_NAME_LENGTH and SERVICE_NAME_RE.fullmatch(service_name(a))
    assert service_name(a) != service_name(b)


def test_the_service_is_the_launch_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    s = make_spawner(placement_constraints=["node.role==worker"], placement_preferences=["spread=node.labels.rack"])
    spec = s.prepare(lti11(**COURSE))
    s.port = 40123
    kw = created_service(monkeypatch, s)
    assert kw["name"] == service_name(spec.name) and SERVICE_NAME_RE.fullmatch(kw["name"])
    assert kw["labels"]["io.ipynb-tools.course"] == "98" and kw["labels"]["io.ipynb-tools.user"] == "alice"
    task = kw["task_template"]
    container = task["ContainerSpec"]
    assert container["Image"] == SITE_IMAGE
    assert container["User"] == "root" and container["Init"] is True  # the site's extra spec is kept
    assert container["Labels"]["io.ipynb-tools.role"] == "student"
    assert "NB_USER=alice" in container["Env"] and "JUPYTERHUB_SERVICE_URL=http://127.0.0.1:40123/" in container["Env"]
    assert task["Resources"]["Limits"] == {"MemoryBytes": 500_000_000, "NanoCPUs": 1_500_000_000}
    assert task["Networks"] == [{"Target": "host"}]
    assert "Ports" not in (kw["endpoint_spec"] or {})
    assert task["Placement"]["Constraints"] == ["node.role==worker"]
    assert task["Placement"]["Preferences"] == [{"Spread": {"SpreadDescriptor": "node.labels.rack"}}]
    mounts = {m["Source"]: m for m in container["Mounts"]}
    submit = f"lms_sub_k1_98_{HOST}"
    assert mounts[submit]["Type"] == "volume"
    assert mounts[submit]["Target"] == f"/home/alice/jupyter/works/.volumes/{submit}"
    assert mounts[submit]["VolumeOptions"]["DriverConfig"] == {
        "Name": "local",
        "Options": {"type": "none", "o": "bind", "device": f"/srv/jupyter/{submit}"},
    }
    assert mounts[submit]["VolumeOptions"]["Labels"]["io.ipynb-tools.kind"] == "sub"
    home = mounts["jupyterhub-user-alice"]["VolumeOptions"]["DriverConfig"]["Options"]
    assert home["device"] == "/srv/jupyter/jupyterhub-user-alice"
    assert mounts["/srv/shared-ro"]["Type"] == "bind"  # a host path stays a bind


def test_a_server_stopped_at_its_limit_is_not_restarted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Swarm restarts any exited task by default: a server that stopped itself at its activity
    limit would come back with a fresh clock. The site may still set its own policy."""
    s = make_spawner()
    s.prepare(lti11(**COURSE))
    assert created_service(monkeypatch, s)["task_template"]["RestartPolicy"]["Condition"] == "none"
    s = make_spawner(extra_task_spec={"restart_policy": {"Condition": "on-failure", "MaxAttempts": 2}})
    s.prepare(lti11(**COURSE))
    policy = created_service(monkeypatch, s)["task_template"]["RestartPolicy"]
    assert policy == {"Condition": "on-failure", "MaxAttempts": 2}


def test_guarantees_are_reservations(monkeypatch: pytest.MonkeyPatch) -> None:
    s = make_spawner()
    s.prepare(lti11(**{**COURSE, "lms_memgrnt": "100000000", "lms_cpugrnt": "0.5"}))
    task = created_service(monkeypatch, s)["task_template"]
    assert task["Resources"]["Reservations"] == {"MemoryBytes": 100_000_000, "NanoCPUs": 500_000_000}


def test_nfs_storage_reaches_the_mounts(monkeypatch: pytest.MonkeyPatch) -> None:
    s = make_spawner(
        root="/export/jupyter",
        shared_volume_nfs_server="10.0.0.5",
        shared_volume_nfs_options="nfsvers=4.1",
        shared_volume_local_root="/mnt/jupyter",
    )
    s.prepare(lti11(**COURSE))
    mounts = created_service(monkeypatch, s)["task_template"]["ContainerSpec"]["Mounts"]
    task = next(m for m in mounts if m["Source"] == f"lms_vol_k1_98_{HOST}")
    assert task["VolumeOptions"]["DriverConfig"]["Options"] == {
        "type": "nfs",
        "o": "addr=10.0.0.5,nfsvers=4.1",
        "device": f":/export/jupyter/lms_vol_k1_98_{HOST}",
    }


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"root": ""}, "shared_volume_root is not set"),
        ({"root": "relative"}, "not a normalised absolute path"),
        ({"placement_preferences": ["binpack"]}, "is not spread=<node attribute>"),
    ],
)
def test_a_site_that_cannot_work_is_refused_with_the_reason(config: dict[str, Any], words: str) -> None:
    s = make_spawner(**config)
    with pytest.raises(LaunchRefused, match=words):
        s.prepare(lti11(**COURSE))
        _ = s.mounts


def test_the_directories_are_made_in_the_shared_root(tmp_path) -> None:
    s = make_spawner(root=str(tmp_path))
    s.prepare(lti11(**COURSE))
    asyncio.run(s.ensure_volumes())
    made = sorted(p.name for p in tmp_path.iterdir())
    assert made == sorted([f"lms_vol_k1_98_{HOST}", f"lms_sub_k1_98_{HOST}", "jupyterhub-user-alice"])


def test_host_network_on_all_addresses_reaches_the_tasks_node() -> None:
    s = make_spawner(host_network_ip="0.0.0.0")
    s.prepare(lti11(**COURSE))

    async def fake_docker(method: str, *args: Any, **kwargs: Any) -> Any:
        return {
            "inspect_service": {"ID": "svc"},
            "tasks": [{"NodeID": "n2", "Status": {"State": "running"}}],
            "inspect_node": {"Status": {"Addr": "192.0.2.7"}},
        }[method]

    s.docker = fake_docker  # type: ignore[method-assign]
    assert asyncio.run(s.get_ip_and_port()) == ("192.0.2.7", s.port)


def test_the_documented_config_uses_only_real_settings(tmp_path) -> None:
    """docs/swarm.md's jupyterhub_config.py snippet (with the commented NFS lines on) loads onto real traits."""
    from pathlib import Path

    from jupyterhub.app import JupyterHub
    from traitlets.config.loader import PyFileConfigLoader

    text = (Path(__file__).resolve().parents[2] / "docs" / "swarm.md").read_text()
    snippet = text.split("```python\n", 1)[1].split("```", 1)[0]
    snippet = snippet.replace("# c.LTISwarmSpawner.", "c.LTISwarmSpawner.")
    (tmp_path / "jupyterhub_config.py").write_text("c = get_config()  # noqa\n" + snippet)
    config = PyFileConfigLoader("jupyterhub_config.py", path=str(tmp_path)).load_config()
    classes = {"JupyterHub": JupyterHub}
    for section in ("LTISwarmSpawner", "LTIContainerSpawner", "SwarmSpawner", "DockerSpawner"):
        classes[section] = LTISwarmSpawner
    for section, values in config.items():
        traits = classes[section].class_trait_names(config=True)
        for key in values:
            assert key in traits, f"{section}.{key}"
    assert config.JupyterHub.spawner_class == "ipynb_tools.hub.swarm.LTISwarmSpawner"
    site = config.LTISwarmSpawner
    storage = SharedStorage.from_settings(
        site.shared_volume_root,
        site.shared_volume_nfs_server,
        site.shared_volume_nfs_options,
        site.shared_volume_local_root,
    )
    assert storage is not None
    assert storage.driver_opts("lms_vol_a_1_h")["o"] == "addr=10.0.0.5,nfsvers=4.1,hard,timeo=600"
