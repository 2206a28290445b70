"""Notebook I/O: exact round trips, Jupyter's format, and one clear error per kind of bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from ipynb_tools import errors
from ipynb_tools.notebook import (
    JSON_REASONS,
    check_notebook_shape,
    dumps_notebook,
    parse_notebook,
    read_notebook,
    read_notebook_file,
    write_notebook,
)
from tests.requirements import require_root

DATA = Path(__file__).parent / "data" / "deploy"


@pytest.mark.parametrize("name", sorted(p.name for p in (DATA / "expected").glob("*.ipynb")))
def test_round_trip_is_byte_identical(name: str) -> None:
    raw = (DATA / "expected" / name).read_bytes()
    assert dumps_notebook(parse_notebook(raw)).encode() == raw


def test_dumps_matches_nbformat_writes() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print('日本語')\nx = 1"), nbformat.v4.new_markdown_cell("# 見出し")]
    expected = nbformat.writes(nb)
    ours = dumps_notebook(parse_notebook(expected.encode()))
    assert ours == expected if expected.endswith("\n") else ours == expected + "\n"
    assert "日本語" in ours  # ensure_ascii=False
    assert ours.endswith("\n") and not ours.endswith("\n\n")


def test_read_does_not_add_ids_or_upgrade(tmp_path: Path) -> None:
    nb = json.loads((DATA / "v40.ipynb").read_text())
    read = read_notebook(DATA / "v40.ipynb")
    assert read == nb
    assert read["nbformat_minor"] == 0
    assert all("id" not in c for c in read["cells"])


def test_write_is_atomic_and_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / "a.ipynb"
    target.write_text("old")
    os.chmod(target, 0o640)
    nb = read_notebook(DATA / "v40.ipynb")
    write_notebook(target, nb)
    assert target.read_bytes() == dumps_notebook(nb).encode()
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["a.ipynb"]  # no temp file left


def test_write_new_file_follows_umask(tmp_path: Path) -> None:
    old = os.umask(0o037)
    try:
        write_notebook(tmp_path / "new.ipynb", read_notebook(DATA / "v40.ipynb"))
    finally:
        os.umask(old)
    assert (tmp_path / "new.ipynb").stat().st_mode & 0o777 == 0o640


def test_write_refuses_to_replace_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.ipynb"
    real.write_text("keep")
    link = tmp_path / "link.ipynb"
    link.symlink_to(real)
    with pytest.raises(errors.SymlinkError, match=r"link\.ipynb: is a symlink"):
        write_notebook(link, read_notebook(DATA / "v40.ipynb"))
    assert real.read_text() == "keep" and link.is_symlink()


@pytest.mark.parametrize(
    ("text", "japanese"),
    [
        ("{not json", 'ダブルクォート（"）で囲んだキーが必要です'),
        ("", "値が必要です"),
        ('{"a" 1}', "区切りの ':' が必要です"),
        ("[1 2]", "区切りの ',' が必要です"),
        ('"abc', "閉じていない文字列があります"),
        ('"a\x01"', "文字列の中に制御文字があります"),
        ('"\\q"', "正しくないエスケープ（\\）があります"),
        ('"\\u12"', "正しくない \\uXXXX エスケープがあります"),
        ("{} x", "余分なデータがあります"),
    ],
)
def test_the_json_parsers_reason_is_in_the_users_language(
    text: str, japanese: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken notebook's 'not valid JSON (<reason> ...)' reads the parser's reason in Japanese too (issue 16 item 8).

    Each reason here is what this Python's json writes: a Python that rewords one fails this test
    (add the new text to ``JSON_REASONS`` and translate it), instead of showing English silently.
    """
    with pytest.raises(json.JSONDecodeError) as raised:
        json.loads(text)
    assert raised.value.msg in JSON_REASONS
    monkeypatch.setenv("LANGUAGE", "ja")
    with pytest.raises(errors.NotJSONError) as exc:
        parse_notebook(text.encode(), "k.ipynb")
    assert str(exc.value).startswith("k.ipynb: 正しい JSON ではありません（")
    assert str(exc.value).endswith(f": {japanese}）"), str(exc.value)


def _bad(tmp_path: Path, name: str, content: bytes | str) -> Path:
    p = tmp_path / name
    p.write_bytes(content if isinstance(content, bytes) else content.encode())
    return p


@pytest.mark.parametrize(
    ("content", "error", "words"),
    [
        ("{not json", errors.NotJSONError, "not valid JSON"),
        (b"\xff\xfe\x00garbage", errors.NotJSONError, "not UTF-8"),
        ("[1, 2]", errors.NotANotebookError, "top level is not an object"),
        ('{"cells": []}', errors.NotANotebookError, "no 'nbformat' key"),
        ('{"nbformat": 4}', errors.NotANotebookError, "no 'cells' key"),
        (
            '{"nbformat": 3, "nbformat_minor": 0, "worksheets": [], "cells": []}',
            errors.NotebookVersionError,
            "nbformat 3",
        ),
        (
            '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "sql", "source": ""}]}',
            errors.NotANotebookError,
            "unknown cell_type",
        ),
        (
            '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", "source": 5}]}',
            errors.NotANotebookError,
            "source that is not text",
        ),
        (
            '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", "source": "",'
            ' "metadata": {"tags": "x"}}]}',
            errors.NotANotebookError,
            "tags that are not a list",
        ),
    ],
)
def test_bad_content_gives_one_line_naming_the_file(tmp_path: Path, content, error, words) -> None:
    path = _bad(tmp_path, "bad 課題.ipynb", content)
    with pytest.raises(error) as info:
        read_notebook(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and words in message and "\n" not in message


def test_directory_missing_and_special_files(tmp_path: Path) -> None:
    (tmp_path / "dir.ipynb").mkdir()
    with pytest.raises(errors.NotARegularFileError, match="is a directory"):
        read_notebook(tmp_path / "dir.ipynb")
    with pytest.raises(errors.NotARegularFileError, match="no such file"):
        read_notebook(tmp_path / "missing.ipynb")
    os.mkfifo(tmp_path / "fifo.ipynb")
    with pytest.raises(errors.NotARegularFileError, match="not a regular file"):
        read_notebook(tmp_path / "fifo.ipynb")


def test_dangling_symlink(tmp_path: Path) -> None:
    (tmp_path / "gone.ipynb").symlink_to(tmp_path / "nowhere.ipynb")
    with pytest.raises(errors.SymlinkError, match="dangling symlink"):
        read_notebook(tmp_path / "gone.ipynb")


def test_own_symlink_is_followed_but_not_when_forbidden(tmp_path: Path) -> None:
    (tmp_path / "link.ipynb").symlink_to(DATA / "v40.ipynb")
    assert read_notebook(tmp_path / "link.ipynb")["nbformat"] == 4
    with pytest.raises(errors.SymlinkError, match="is a symlink"):
        read_notebook(tmp_path / "link.ipynb", follow_symlinks=False)


def test_foreign_symlink_is_refused(tmp_path: Path) -> None:
    require_root("a symlink owned by another user")
    link = tmp_path / "planted.ipynb"
    link.symlink_to(DATA / "v40.ipynb")
    os.lchown(link, 4242, 4242)
    with pytest.raises(errors.SymlinkError, match="owned by another user"):
        read_notebook(link)


def test_unreadable() -> None:
    """A file the reader may not read: as root, the check runs as 'nobody' in a subprocess."""
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        os.chmod(d, 0o755)
        p = _bad(Path(d), "secret.ipynb", "{}")
        p.chmod(0)
        if os.geteuid() != 0:
            with pytest.raises(errors.UnreadableError, match="permission denied"):
                read_notebook(p)
            return
        code = "import sys; from ipynb_tools.notebook import read_notebook; read_notebook(sys.argv[1])"
        # the venv's interpreter may live under /root (mode 0700): use the system one
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        proc = subprocess.run(
            [python, "-c", code, str(p)],
            user=65534,
            group=65534,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
        )
        assert proc.returncode != 0
        assert f"UnreadableError: {p}: permission denied" in proc.stderr


def test_too_large(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(errors.TooLargeError, match="over the limit"):
        read_notebook_file(DATA / "attachments.ipynb", max_bytes=1000)
    monkeypatch.setenv("IPYNB_TOOLS_MAX_NOTEBOOK_MB", "0.001")
    with pytest.raises(errors.TooLargeError):
        read_notebook(DATA / "attachments.ipynb")


def test_shape_check_accepts_every_fixture_nbformat_accepts() -> None:
    for path in DATA.glob("*.ipynb"):
        check_notebook_shape(json.loads(path.read_text()), path)


def test_atomic_copy_streams_big_and_empty_files(tmp_path: Path) -> None:
    from ipynb_tools.atomic import atomic_copy_file

    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * 1024 * 1024 + 7))
    atomic_copy_file(big, tmp_path / "copy.bin", mode=0o644)
    assert (tmp_path / "copy.bin").read_bytes() == big.read_bytes()
    assert (tmp_path / "copy.bin").stat().st_mode & 0o777 == 0o644
    (tmp_path / "empty").write_bytes(b"")
    atomic_copy_file(tmp_path / "empty", tmp_path / "copy.bin")
    assert (tmp_path / "copy.bin").read_bytes() == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.bin", "copy.bin", "empty"]
