"""Cell numbering: deploy's tags, the numbers a re-deploy moves, and a notebook arriving under a name."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from ipynb_tools.notebook import is_utf8_name, notebook_bytes, parse_notebook
from ipynb_tools.numbering import NumberingError, fix_notebook_tags, number_cells, numbering_of, shifted_cells
from ipynb_tools.tags import cell_codenum, cell_filename

DATA = Path(__file__).parent / "data" / "deploy"


def _notebook(*sources: str) -> dict:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {"cell_type": "code", "id": f"c{i}", "source": s, "metadata": {}, "outputs": [], "execution_count": None}
            for i, s in enumerate(sources)
        ],
    }


def test_tag_rules_only_touch_numbering_tags_of_code_cells() -> None:
    before = json.loads((DATA / "with tags.ipynb").read_text())
    after = json.loads((DATA / "with tags.ipynb").read_text())
    assert number_cells(after, "out.ipynb", 3) == 4
    for old, new in zip(before["cells"], after["cells"], strict=True):
        if old["cell_type"] != "code":
            assert old == new
            continue
        old_meta = {k: v for k, v in old.get("metadata", {}).items() if k != "tags"}
        new_meta = {k: v for k, v in new["metadata"].items() if k != "tags"}
        assert old_meta == new_meta
        assert new["source"] == old["source"] and new.get("outputs") == old.get("outputs")
        kept = [t for t in old.get("metadata", {}).get("tags", []) if not t.startswith(("filename:", "codenum:"))]
        assert new["metadata"]["tags"][:-2] == kept
    assert [c["metadata"]["tags"][-1] for c in after["cells"] if c["cell_type"] == "code"] == [
        "codenum:3",
        "codenum:6",
        "codenum:9",
        "codenum:12",
    ]
    assert {c["metadata"]["tags"][-2] for c in after["cells"] if c["cell_type"] == "code"} == {"filename:out.ipynb"}


def test_a_step_below_one_is_a_numbering_error() -> None:
    nb = _notebook("a = 1")
    with pytest.raises(NumberingError, match="step must be a positive integer, not 0"):
        number_cells(nb, "x.ipynb", 0)
    assert nb["cells"][0]["metadata"] == {}


def test_a_file_name_that_is_not_utf8_is_a_numbering_error_and_sync_copies_it_as_it_is() -> None:
    """``b"k\\xff.ipynb"`` reaches Python as ``"k\\udcff.ipynb"`` (PEP 383): no tag can hold it."""
    name = os.fsdecode(b"k\xff.ipynb")
    nb = _notebook("a = 1")
    with pytest.raises(NumberingError) as exc:
        number_cells(nb, name)
    assert str(exc.value).startswith("'k\\udcff.ipynb': the file name is not valid UTF-8")
    str(exc.value).encode("ascii")  # a message any terminal can show
    assert nb["cells"][0]["metadata"] == {}
    # sync (fix_notebook_tags): copied unchanged, deployed or not
    assert fix_notebook_tags(notebook_bytes(nb), name) is None
    number_cells(nb, "k.ipynb")
    assert fix_notebook_tags(notebook_bytes(nb), name) is None
    assert not is_utf8_name(name) and is_utf8_name("課題 1.ipynb") and is_utf8_name("k.ipynb")


def test_shifted_cells_match_by_id_then_by_source() -> None:
    old = _notebook("a", "b", "c")
    number_cells(old, "x.ipynb")
    before = numbering_of(old)
    assert [n for _, _, n in before] == [1, 2, 3]
    new = _notebook("new", "a", "b", "c")
    for cell in new["cells"]:
        cell.pop("id")
    number_cells(new, "x.ipynb")
    assert shifted_cells(before, new) == [(1, 2), (2, 3), (3, 4)]


def test_a_notebook_arriving_under_another_name_gets_that_filename_and_keeps_its_numbers() -> None:
    nb = _notebook("a", "b")
    number_cells(nb, "old.ipynb", 10)
    raw = notebook_bytes(nb)
    assert fix_notebook_tags(raw, "old.ipynb") is None  # already right: not rewritten
    fixed = parse_notebook(fix_notebook_tags(raw, "new.ipynb"), "new.ipynb")
    assert [(cell_filename(c), cell_codenum(c)) for c in fixed["cells"]] == [("new.ipynb", 10), ("new.ipynb", 20)]


def test_a_notebook_never_deployed_is_numbered_and_a_non_notebook_is_left_alone() -> None:
    raw = notebook_bytes(_notebook("a", "b"))
    fixed = parse_notebook(fix_notebook_tags(raw, "k.ipynb"), "k.ipynb")
    assert [(cell_filename(c), cell_codenum(c)) for c in fixed["cells"]] == [("k.ipynb", 1), ("k.ipynb", 2)]
    assert fix_notebook_tags(b"not json", "k.ipynb") is None
    untouched = copy.deepcopy(_notebook())
    assert fix_notebook_tags(notebook_bytes(untouched), "k.ipynb") is None


def test_the_fast_check_sends_every_doubtful_notebook_to_the_full_check() -> None:
    """A numbered cell without its filename tag, a second filename tag, or a name a JSON writer escapes."""
    nb = _notebook("a", "b")
    number_cells(nb, "k.ipynb")
    nb["cells"][1]["metadata"]["tags"] = [t for t in nb["cells"][1]["metadata"]["tags"] if t.startswith("codenum:")]
    fixed = parse_notebook(fix_notebook_tags(notebook_bytes(nb), "k.ipynb"), "k.ipynb")
    assert [(cell_filename(c), cell_codenum(c)) for c in fixed["cells"]] == [("k.ipynb", 1), ("k.ipynb", 2)]
    nb = _notebook("a")
    number_cells(nb, "k.ipynb")
    nb["cells"][0]["metadata"]["tags"].append("filename:other.ipynb")
    fixed = parse_notebook(fix_notebook_tags(notebook_bytes(nb), "k.ipynb"), "k.ipynb")
    assert [t for t in fixed["cells"][0]["metadata"]["tags"] if t.startswith("filename:")] == ["filename:k.ipynb"]
    nb = _notebook("a")
    number_cells(nb, 'q"x.ipynb')
    assert fix_notebook_tags(notebook_bytes(nb), 'q"x.ipynb') is None  # right, found by the full check
