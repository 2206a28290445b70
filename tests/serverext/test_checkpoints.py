"""Checkpoints of notebooks in shared volumes are private to the user (issue 12, item 19)."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

from ipynb_tools.serverext.checkpoints import PrivateCheckpointsMixin, is_shared_folder

from .conftest import DATA, OPEN_ACCESS, Course


async def checkpoint(jp_fetch, path: str) -> dict:
    response = await jp_fetch("api", "contents", path, "checkpoints", method="POST", body="")
    assert response.code == 201
    return json.loads(response.body)


def test_the_server_uses_the_private_checkpoints(jp_serverapp, course: Course) -> None:
    assert isinstance(jp_serverapp.contents_manager.checkpoints, PrivateCheckpointsMixin)


async def test_a_notebook_in_a_submit_volume_is_checkpointed_in_the_home(jp_fetch, course: Course) -> None:
    hand_in = course.open_dir / "kadai-1_alice.ipynb"
    shutil.copy2(DATA / "deploy" / "v40.ipynb", hand_in)
    # a classmate planted the checkpoint name in the shared folder: a link to their file, and a 0666 file
    shared = course.open_dir / ".ipynb_checkpoints"
    shared.mkdir()
    shared.chmod(0o3777)
    loot = course.root.parent / "loot.ipynb"
    loot.write_text("")
    (shared / "kadai-1_alice-checkpoint.ipynb").symlink_to(loot)
    (shared / "other-checkpoint.ipynb").write_text("")
    cp = await checkpoint(jp_fetch, f"{OPEN_ACCESS}/kadai-1_alice.ipynb")
    private = course.home / ".ipynb-tools" / "checkpoints" / OPEN_ACCESS / f"kadai-1_alice-{cp['id']}.ipynb"
    assert private.read_bytes() == hand_in.read_bytes()
    assert stat.S_IMODE(os.stat(private.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(course.home / ".ipynb-tools" / "checkpoints").st_mode) == 0o700
    assert loot.read_text() == ""  # nothing written through the planted link
    assert sorted(os.listdir(shared)) == ["kadai-1_alice-checkpoint.ipynb", "other-checkpoint.ipynb"]
    # listing and restoring use the private copy
    listed = json.loads((await jp_fetch("api", "contents", OPEN_ACCESS, "kadai-1_alice.ipynb", "checkpoints")).body)
    assert [c["id"] for c in listed] == [cp["id"]]
    hand_in.write_text(hand_in.read_text().replace("nbformat", "nbformat", 1))
    response = await jp_fetch(
        "api", "contents", OPEN_ACCESS, "kadai-1_alice.ipynb", "checkpoints", cp["id"], method="POST", body=""
    )
    assert response.code == 204
    assert hand_in.read_bytes() == private.read_bytes()


async def test_a_notebook_in_the_users_own_folder_keeps_jupyters_usual_place(jp_fetch, course: Course) -> None:
    os.chmod(course.root, 0o755)
    cp = await checkpoint(jp_fetch, "kadai-1.ipynb")
    assert (course.root / ".ipynb_checkpoints" / f"kadai-1-{cp['id']}.ipynb").is_file()
    assert not (course.home / ".ipynb-tools" / "checkpoints").exists()


def test_what_counts_as_shared(tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir(mode=0o700)
    assert not is_shared_folder(own)
    for mode in (0o3777, 0o2775, 0o1777, 0o770):
        own.chmod(mode)
        assert is_shared_folder(own), oct(mode)
    assert is_shared_folder(tmp_path / "missing")
