"""extract: golden grading notebooks from real submissions, recognition of students, validity."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from ipynb_tools.grading.extract import ExtractError, extract, extract_notebook, grading_name
from ipynb_tools.grading.submissions import identify, user_from_name
from ipynb_tools.notebook import read_notebook


def _validate(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(str(path), as_version=nbformat.NO_CONVERT)
    nbformat.validate(nb)
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5)
    ids = [c.id for c in nb.cells]
    assert len(ids) == len(set(ids))
    return nb


@pytest.mark.parametrize(
    ("args", "golden"),
    [
        ((["kadai-1.ipynb", [1, 3]], {}), "001-kadai-1.ipynb"),
        ((["kadai-1", [4]], {"nonum": True}), "004-kadai-1.ipynb"),
    ],
)
def test_extract_matches_golden_file(course: Path, tmp_path: Path, args, golden: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (base, numbers), options = args
    path = extract(base, numbers, course / "submit", out, **options)
    assert path == out / golden
    assert path.read_bytes() == (course / "expected" / golden).read_bytes()
    _validate(path)


def test_layout_per_student_in_username_order(course: Path, tmp_path: Path) -> None:
    path = extract("kadai-1", [3, 1], course / "submit", tmp_path)
    assert path.name == "003-kadai-1.ipynb"  # NNN is the first number given
    nb = _validate(path)
    headings = [c.source for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## ")]
    assert headings == ["## alice", "## bob", "## carol"]  # prefix-form carol and no-metadata bob found too
    alice = nb.cells[: nb.cells.index(next(c for c in nb.cells if c.source == "## bob"))]
    kinds = [(c.cell_type, c.source if c.cell_type == "markdown" else c.metadata.get("tags")) for c in alice]
    assert kinds == [
        ("markdown", "## alice"),
        ("code", ["filename:kadai-1.ipynb", "codenum:1"]),  # document order, not argument order
        ("code", ["filename:kadai-1.ipynb", "codenum:3"]),
        ("markdown", "#### Score:"),
        ("code", ["user: alice", "codenum:999"]),
        ("markdown", '<hr size="2">'),
    ]
    score = alice[4]
    assert score.source == "0" and score.execution_count is None and score.outputs == []
    assert alice[1].outputs[0]["text"] == "Hello, world\n"  # outputs come along


def test_bob_deleted_cell_and_nonum(course: Path, tmp_path: Path) -> None:
    nb = _validate(extract("kadai-1", [3], course / "submit", tmp_path))
    bob = [c for c in nb.cells if c.cell_type == "code" and "user: bob" not in c.metadata.get("tags", [])]
    sources = [c.source for c in bob]
    assert "print('extra work 日本語')\n" not in sources  # unnumbered only with nonum
    (tmp_path / "x").mkdir()
    nb2 = _validate(extract("kadai-1", [3], course / "submit", tmp_path / "x", nonum=True))
    assert any(c.source == "print('extra work 日本語')\n" for c in nb2.cells)


def test_bad_submissions_are_reported_not_fatal(course: Path, tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []
    result = extract_notebook(
        "kadai-1", [1], course / "submit", tmp_path, on_problem=lambda p, m: seen.append((p.name, m))
    )
    assert result.users == ["alice", "bob", "carol"]
    names = dict(seen)
    assert "not valid JSON" in names["kadai-1_mallory.ipynb"]
    assert "nbformat 3" in names["kadai-1_oldver.ipynb"]
    assert "kadai-2_dave.ipynb" not in names and "readme.txt" not in names  # other notebooks are not problems


def test_existing_grading_notebook_is_kept_unless_forced(course: Path, tmp_path: Path) -> None:
    path = extract("kadai-1", [1, 3], course / "submit", tmp_path)
    graded = (course / "graded" / "001-kadai-1.ipynb").read_bytes()
    path.write_bytes(graded)
    with pytest.raises(ExtractError, match="already exists"):
        extract("kadai-1", [1, 3], course / "submit", tmp_path)
    assert path.read_bytes() == graded
    result = extract_notebook("kadai-1", [1, 3], course / "submit", tmp_path, force=True)
    assert result.kept_scores == 3
    scores = {
        c["metadata"]["tags"][0]: c["source"]
        for c in read_notebook(path)["cells"]
        if "codenum:999" in c.get("metadata", {}).get("tags", [])
    }
    assert scores == {"user: alice": "10", "user: bob": "3  # syntax error in 1", "user: carol": "10"}


def test_no_submissions_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ExtractError, match=r"no usable submissions of kadai-9\.ipynb"):
        extract("kadai-9", [1], tmp_path, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_grading_name() -> None:
    assert grading_name("kadai-1", [7, 1]) == "007-kadai-1.ipynb"
    assert grading_name("課題.ipynb", [120]) == "120-課題.ipynb"


def test_user_from_name_suffix_and_prefix() -> None:
    assert user_from_name("kadai-1_alice.ipynb", "kadai-1.ipynb") == "alice"
    assert user_from_name("alice_kadai-1.ipynb", "kadai-1") == "alice"
    assert user_from_name("kadai-1_a_b.ipynb", "kadai-1") == "a_b"
    assert user_from_name("kadai-10_alice.ipynb", "kadai-1") is None
    assert user_from_name("kadai-1.ipynb", "kadai-1") is None


def test_metadata_wins_over_the_file_name(tmp_path: Path) -> None:
    nb = {
        "cells": [],
        "metadata": {"ipynb_tools": {"submission": {"user": "a_b", "source_name": "x_y.ipynb"}}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    user, notebook, _ = identify(tmp_path / "x_y_a_b.ipynb", nb)
    assert (user, notebook) == ("a_b", "x_y.ipynb")
    # the same name without metadata: the filename: tags say which notebook it is
    nb2 = {
        "cells": [
            {
                "cell_type": "code",
                "source": "",
                "metadata": {"tags": ["filename:x.ipynb", "codenum:1"]},
                "outputs": [],
                "execution_count": None,
            }
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    assert identify(tmp_path / "x_y_a_b.ipynb", nb2)[:2] == ("y_a_b", "x.ipynb")


def test_submission_written_by_ipynb_submit_is_recognised(tmp_path: Path, grading_data: Path) -> None:
    """The record ipynb_submit writes (read from its own module) is the one we read."""
    from ipynb_tools import submit

    nb = json.loads((grading_data / "task" / "kadai-1.ipynb").read_text(encoding="utf-8"))
    nb.setdefault("metadata", {})[submit.METADATA_KEY] = {
        submit.SUBMISSION_KEY: {
            "user": "zoe",
            "submitted_at": "2024-04-17T10:00:00Z",
            "source_name": "kadai-1.ipynb",
            "source_sha256": "0" * 64,
        }
    }
    name = submit.submission_name("kadai-1.ipynb", "zoe", submit.PREFIX_FORMAT)
    (tmp_path / name).write_text(json.dumps(nb), encoding="utf-8")
    (tmp_path / "out").mkdir()
    result = extract_notebook("kadai-1", [1], tmp_path, tmp_path / "out")
    assert result.users == ["zoe"]


def test_submission_from_another_students_account_is_reported(tmp_path: Path, grading_data: Path) -> None:
    """$JUPYTERHUB_USER can be forged, the account cannot: alice handing in as bob is reported."""
    task = json.loads((grading_data / "task" / "kadai-1.ipynb").read_text(encoding="utf-8"))

    def hand_in(user: str, os_user: str) -> None:
        nb = json.loads(json.dumps(task))
        nb["metadata"]["ipynb_tools"] = {
            "submission": {"user": user, "os_user": os_user, "source_name": "kadai-1.ipynb"}
        }
        (tmp_path / f"kadai-1_{user}.ipynb").write_text(json.dumps(nb), encoding="utf-8")

    hand_in("alice", "alice")
    hand_in("bob", "alice")  # forged
    hand_in("carol", "jovyan")  # a generic shared account is no impersonation
    (tmp_path / "out").mkdir()
    result = extract_notebook("kadai-1", [1], tmp_path, tmp_path / "out")
    assert result.users == ["alice", "bob", "carol"]
    assert [(p.name, m) for p, m in result.problems] == [
        ("kadai-1_bob.ipynb", "handed in from the account of alice, not of bob: check with both students")
    ]
