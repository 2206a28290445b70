"""Saving a file in a shared volume writes nothing a classmate planted (issue 12, item 19's kind).

jupyter_server copies a file's old content to ``.~<name>`` beside it before it saves, following a
link there and writing into a file already there: a classmate's link or 0666 file at that name in
the submit volume received the student's hand-in. The extension saves files in shared folders
without that copy (ipynb_tools/serverext/sharedwrites.py).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from ipynb_tools.serverext.sharedwrites import shared_atomic_writing

from .conftest import DATA, OPEN_ACCESS, Course

HAND_IN = "kadai-1_alice.ipynb"


def _source(path: Path) -> str:
    return "".join(json.loads(path.read_text())["cells"][0]["source"])


def _notebook_model(path: Path, source: str) -> dict:
    nb = json.loads(path.read_text())
    nb["cells"][0]["source"] = source
    return {"type": "notebook", "format": "json", "content": nb}


async def _save(jp_fetch, name: str, model: dict):
    return await jp_fetch("api", "contents", OPEN_ACCESS, name, method="PUT", body=json.dumps(model))


@pytest.mark.parametrize("planted", ["link", "file"])
async def test_saving_a_hand_in_never_writes_into_a_classmates_planted_copy_name(
    jp_fetch, course: Course, planted: str
) -> None:
    hand_in = course.open_dir / HAND_IN
    shutil.copy2(DATA / "deploy" / "v40.ipynb", hand_in)
    old = hand_in.read_bytes()
    loot = course.root.parent / "loot.ipynb"
    loot.write_text("")
    trap = course.open_dir / f".~{HAND_IN}"
    if planted == "link":
        trap.symlink_to(loot)
    else:
        trap.write_text("")
        trap.chmod(0o666)
    response = await _save(jp_fetch, HAND_IN, _notebook_model(hand_in, "print('saved')\n"))
    assert response.code == 200
    assert _source(hand_in) == "print('saved')\n" and hand_in.read_bytes() != old
    assert loot.read_text() == "" and (trap.is_symlink() or trap.read_text() == "")
    assert sorted(os.listdir(course.open_dir)) == sorted([HAND_IN, trap.name])  # no copy left behind


async def test_a_link_planted_at_a_new_files_name_is_refused_not_written_through(jp_fetch, course: Course) -> None:
    target = course.root.parent / "classmate-reads-this.ipynb"  # missing: a dangling link
    (course.open_dir / "Untitled.ipynb").symlink_to(target)
    model = _notebook_model(DATA / "deploy" / "v40.ipynb", "secret = 1\n")
    with pytest.raises(HTTPClientError) as caught:
        await _save(jp_fetch, "Untitled.ipynb", model)
    assert caught.value.code == 403
    assert not target.exists()
    # a new file at a free name is made as usual
    assert (await _save(jp_fetch, "new.ipynb", model)).code == 201
    assert _source(course.open_dir / "new.ipynb") == "secret = 1\n"


async def test_a_file_in_the_users_own_folder_keeps_jupyters_writing(jp_fetch, course: Course) -> None:
    os.chmod(course.root, 0o755)
    model = _notebook_model(course.root / "kadai-1.ipynb", "x = 2\n")
    response = await jp_fetch("api", "contents", "kadai-1.ipynb", method="PUT", body=json.dumps(model))
    assert response.code == 200
    assert _source(course.root / "kadai-1.ipynb") == "x = 2\n"


def test_a_failed_write_puts_the_old_content_back_and_leaves_no_temp_file(tmp_path: Path) -> None:
    shared = tmp_path / "sub"
    shared.mkdir()
    shared.chmod(0o1777)
    path = shared / "a.txt"
    path.write_text("old\n")
    with pytest.raises(RuntimeError), shared_atomic_writing(str(path)) as f:
        f.write("half")
        f.flush()
        raise RuntimeError("interrupted")
    assert path.read_text() == "old\n"
    assert os.listdir(shared) == ["a.txt"]
    with shared_atomic_writing(str(path), text=False) as f:
        f.write(b"new\r\n")
    assert path.read_bytes() == b"new\r\n" and os.listdir(shared) == ["a.txt"]
    inode = path.stat().st_ino
    with shared_atomic_writing(str(path)) as f:
        f.write("in place\n")
    assert path.read_text() == "in place\n" and path.stat().st_ino == inode  # written in place: owner, mode kept
    fifo = shared / "fifo.ipynb"
    os.mkfifo(fifo)
    with pytest.raises(PermissionError), shared_atomic_writing(str(fifo)):
        pass
