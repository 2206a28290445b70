"""Course volumes on a shared root: the settings, the directories, and real engines mounting the same data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from ipynb_tools.cli.main import cli
from ipynb_tools.volumes import course as vols
from ipynb_tools.volumes import engine as eng
from ipynb_tools.volumes.naming import VolumeName
from ipynb_tools.volumes.shared import SharedStorage, SharedStorageError, make_directory, remove_directory

HOST = "el.mml.tuis.ac.jp"
FULL = "lms_vol_abc_98_el.mml.tuis.ac.jp"

# ---------------------------------------------------------------- settings (no engine)


def test_bind_options_point_into_the_shared_root() -> None:
    storage = SharedStorage("/srv/jupyter-volumes")
    assert storage.kind == "bind"
    assert storage.driver_opts(FULL) == {"type": "none", "o": "bind", "device": f"/srv/jupyter-volumes/{FULL}"}
    assert storage.directory(FULL) == f"/srv/jupyter-volumes/{FULL}"
    assert storage.holds(FULL, storage.driver_opts(FULL))
    assert not storage.holds(FULL, {}) and not storage.holds("lms_vol_other_98_h", storage.driver_opts(FULL))


def test_nfs_options_name_the_server_and_the_export() -> None:
    storage = SharedStorage("/export/jupyter", "10.0.0.5", "nfsvers=4.1,hard", "/mnt/jupyter")
    assert storage.kind == "nfs"
    assert storage.driver_opts(FULL) == {
        "type": "nfs",
        "o": "addr=10.0.0.5,nfsvers=4.1,hard",
        "device": f":/export/jupyter/{FULL}",
    }
    assert storage.directory(FULL) == f"/mnt/jupyter/{FULL}"
    assert storage.describe() == "nfs 10.0.0.5:/export/jupyter"


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"root": "relative/path"}, "is not a normalised absolute path"),
        ({"root": "/srv/../etc"}, "is not a normalised absolute path"),
        ({"root": "/"}, "the file system's root"),
        ({"root": "/srv/v", "local_root": "/"}, "local shared root '/' is the file system's root"),
        ({"root": "/srv/a,b"}, "commas"),
        ({"root": "/srv/a b"}, "spaces"),
        ({"root": "/export", "nfs_addr": "10.0.0.5"}, "local root"),
        ({"root": "/export", "nfs_addr": "bad host!", "local_root": "/mnt"}, "is not a host name"),
        ({"root": "/export", "nfs_addr": "nfs1", "nfs_options": "a b", "local_root": "/mnt"}, "key or key=value"),
        ({"root": "/export", "nfs_addr": "nfs1", "nfs_options": "addr=x", "local_root": "/mnt"}, "not addr="),
        ({"root": "/srv", "nfs_options": "hard"}, "without an NFS server"),
    ],
)
def test_bad_settings_are_one_line_naming_the_setting(settings: dict[str, str], words: str) -> None:
    with pytest.raises(SharedStorageError, match=words) as caught:
        SharedStorage(**settings)
    assert "\n" not in str(caught.value)


def test_from_settings_without_root_is_node_local() -> None:
    assert SharedStorage.from_settings("") is None
    assert SharedStorage.from_settings(None) is None
    with pytest.raises(SharedStorageError, match="without a shared volume root"):
        SharedStorage.from_settings("", nfs_addr="nfs1")


def test_a_volume_name_cannot_escape_the_root() -> None:
    storage = SharedStorage("/srv/v")
    for bad in ("..", "../etc", "a/b", ""):
        with pytest.raises(SharedStorageError):
            storage.driver_opts(bad)


def test_directory_is_made_once_and_removed_with_its_data(tmp_path: Path) -> None:
    storage = SharedStorage(str(tmp_path))
    old = os.umask(0o077)
    try:
        assert make_directory(storage, FULL) is True
    finally:
        os.umask(old)
    assert (tmp_path / FULL).stat().st_mode & 0o777 == 0o755
    (tmp_path / FULL / "kadai.ipynb").write_text("{}")
    assert make_directory(storage, FULL) is False  # there already: kept with its data
    assert (tmp_path / FULL / "kadai.ipynb").exists()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("x")
    (tmp_path / FULL / "link").symlink_to(outside)
    assert remove_directory(storage, FULL) is True
    assert not (tmp_path / FULL).exists()
    assert (outside / "keep").exists()  # a link inside is removed, never followed
    assert remove_directory(storage, FULL) is False


def test_a_link_or_file_in_place_of_the_directory_is_refused(tmp_path: Path) -> None:
    storage = SharedStorage(str(tmp_path))
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / FULL).symlink_to(target)
    with pytest.raises(SharedStorageError, match="exists and is not a directory"):
        make_directory(storage, FULL)
    with pytest.raises(SharedStorageError, match="is not a directory; left as it is"):
        remove_directory(storage, FULL)
    assert target.exists() and (tmp_path / FULL).is_symlink()


def test_shared_root_not_mounted_is_a_clear_error(tmp_path: Path) -> None:
    storage = SharedStorage(str(tmp_path / "not-mounted"))
    with pytest.raises(SharedStorageError, match="is the shared storage mounted here"):
        make_directory(storage, FULL)


# ---------------------------------------------------------------- a real engine


def test_volumes_on_the_shared_root_hold_their_data_there(docker_engine, tiny_image, course, tmp_path) -> None:
    """create makes the directory and a local-driver volume bound to it; a container's writes land there."""
    storage = SharedStorage(str(tmp_path))
    name = VolumeName("vol", "abc", course, HOST)
    with eng.connect(docker_engine.url) as e:
        (result,) = vols.create_volumes(e, [name], storage=storage)
        assert (result.created, result.directory_made, result.note) == (True, True, None)
        (listed,) = vols.list_volumes(e, course, HOST)
        assert listed.options == storage.driver_opts(name.full)
        client = docker_engine.client()
        client.containers.run(
            tiny_image,
            ["sh", "-c", "echo from-the-container > /v/answer.txt"],
            volumes={name.full: {"bind": "/v", "mode": "rw"}},
            network_mode="none",
            remove=True,
        )
        assert (tmp_path / name.full / "answer.txt").read_text() == "from-the-container\n"
        (again,) = vols.create_volumes(e, [name], storage=storage)
        assert (again.created, again.directory_made, again.note) == (False, False, None)
        vols.remove_volumes(e, [name.full], course, HOST, storage=storage)
        assert vols.list_volumes(e, course, HOST) == []
    assert not (tmp_path / name.full).exists()


def test_an_existing_node_local_volume_is_reported_not_replaced(docker_engine, course, tmp_path) -> None:
    name = VolumeName("sub", "k1", course, HOST)
    with eng.connect(docker_engine.url) as e:
        vols.create_volumes(e, [name])  # node-local, as the single-host path makes it
        (result,) = vols.create_volumes(e, [name], storage=SharedStorage(str(tmp_path)))
        assert not result.created
        assert result.other_storage == {}
        assert "not on the shared storage" in (result.note or "")
        (listed,) = vols.list_volumes(e, course, HOST)
        assert listed.options == {}  # still the node-local volume: students' work is never replaced


def test_cli_create_and_rm_with_a_shared_root(docker_engine, course, tmp_path) -> None:
    base = ["--course", course, "--host", HOST, "--engine-url", docker_engine.url]
    env = {"IPYNB_TOOLS_SHARED_ROOT": str(tmp_path)}
    made = CliRunner().invoke(cli, ["volumes", "create", "abc", *base], env=env, catch_exceptions=False)
    assert made.exit_code == 0, made.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"lms_vol_abc_{course}_{HOST}", f"lms_sub_abc_{course}_{HOST}"]
    )
    removed = CliRunner().invoke(cli, ["volumes", "rm", "abc", *base], env=env, catch_exceptions=False)
    assert removed.exit_code == 0, removed.output
    assert list(tmp_path.iterdir()) == []


def test_cli_bad_shared_settings_touch_nothing(docker_engine, course, tmp_path) -> None:
    base = ["--course", course, "--host", HOST, "--engine-url", docker_engine.url]
    result = CliRunner().invoke(
        cli,
        ["volumes", "create", "abc", *base, "--shared-root", "/srv", "--nfs-server", "nfs1"],
        catch_exceptions=False,
    )
    assert result.exit_code != 0
    assert result.output.count("\n") == 1 and "local root" in result.output
    assert docker_engine.client().volumes.list(filters={"name": course}) == []
    nodes = CliRunner().invoke(cli, ["volumes", "ls", *base, "--node-url", "unix:///x"], catch_exceptions=False)
    assert nodes.exit_code == 2 and "--node-url needs --swarm" in nodes.output
