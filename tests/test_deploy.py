"""ipynb_deploy library: golden files, tag rules, idempotence, one bad file, backups and undo."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest

from ipynb_tools.deploy import (
    COPIED,
    FAILED,
    NUMBERED,
    UNCHANGED,
    Deployer,
    DeployError,
    deploy,
    latest_backup,
    undo,
)
from ipynb_tools.notebook import read_notebook
from ipynb_tools.tags import DOWNSTREAM_PATTERN

DATA = Path(__file__).parent / "data" / "deploy"
CASES = sorted(p.name for p in DATA.glob("*.ipynb"))


@pytest.fixture
def course(tmp_path: Path) -> Path:
    work = tmp_path / "course"
    work.mkdir()
    for name in CASES:
        shutil.copy2(DATA / name, work / name)
    return work


@pytest.mark.parametrize("name", CASES)
def test_golden_in_place(course: Path, name: str) -> None:
    deploy([course / name], backup=False)
    assert (course / name).read_bytes() == (DATA / "expected" / name).read_bytes()


@pytest.mark.parametrize("name", sorted(p.name for p in (DATA / "expected-step10").glob("*.ipynb")))
def test_golden_step_10(course: Path, name: str) -> None:
    deploy([course / name], step=10, backup=False)
    assert (course / name).read_bytes() == (DATA / "expected-step10" / name).read_bytes()


@pytest.mark.parametrize("name", CASES)
def test_outputs_are_valid_nbformat_and_downstream_parsable(course: Path, name: str) -> None:
    deploy([course], backup=False)
    nb = nbformat.read(course / name, as_version=nbformat.NO_CONVERT)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    # the LMS side applies its pattern to the serialised tags of each code cell
    found = [DOWNSTREAM_PATTERN.findall(json.dumps(c.metadata["tags"], ensure_ascii=False)) for c in code]
    numbers = [int(v) for pairs in found for k, v in pairs if k == "codenum"]
    files = {v for pairs in found for k, v in pairs if k == "filename"}
    assert numbers == list(range(1, len(code) + 1))
    assert files <= {name}


@pytest.mark.parametrize("minor", [0, 1, 2, 3, 4, 5])
def test_every_nbformat_4_minor_keeps_its_version_and_ids(tmp_path: Path, minor: int) -> None:
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": "1"}]
    if minor == 5:
        cells[0]["id"] = "keep-me"
    path = tmp_path / f"v4{minor}.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": minor, "metadata": {}, "cells": cells}))
    deploy([path], backup=False)
    nb = read_notebook(path)
    assert nb["nbformat_minor"] == minor
    assert nb["cells"][0].get("id") == ("keep-me" if minor == 5 else None)
    assert nb["cells"][0]["metadata"]["tags"] == [f"filename:v4{minor}.ipynb", "codenum:1"]


def test_idempotent_second_run_changes_no_byte(course: Path) -> None:
    deploy([course], backup=False)
    snapshot = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in course.glob("*.ipynb")}
    report = deploy([course], backup=False)
    assert report.count(NUMBERED) == 0 and report.count(UNCHANGED) == len(CASES)
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in course.glob("*.ipynb")} == snapshot


def test_one_bad_notebook_does_not_stop_the_others(course: Path) -> None:
    bad = course / "broken.ipynb"
    bad.write_bytes(b'{"nbformat": 4, "cells": [')
    os.chmod(bad, 0o600)
    before = bad.read_bytes()
    report = deploy([course], backup=False)
    assert not report.ok and report.failed == 1
    failed = [r for r in report.results if r.action == FAILED]
    assert failed[0].source == bad and "not valid JSON" in (failed[0].error or "")
    assert bad.read_bytes() == before and bad.stat().st_mode & 0o777 == 0o600
    assert report.count(NUMBERED) == len(CASES) - 1  # no-code.ipynb is unchanged


def test_a_notebook_whose_name_is_not_utf8_fails_alone(course: Path) -> None:
    """Its name cannot go into its filename: tags: one failed line, the file unchanged, the rest numbered."""
    bad = course / os.fsdecode(b"bad\xff.ipynb")
    shutil.copy2(DATA / CASES[0], bad)
    before = bad.read_bytes()
    report = deploy([course], backup=False)
    failed = [r for r in report.results if r.action == FAILED]
    assert [r.source for r in failed] == [bad] and report.failed == 1
    assert (failed[0].error or "").startswith("'bad\\udcff.ipynb': the file name is not valid UTF-8")
    assert bad.read_bytes() == before
    assert report.count(NUMBERED) == len(CASES) - 1  # no-code.ipynb is unchanged


def test_into_destination_numbers_with_output_name_and_copies_files(course: Path, tmp_path: Path) -> None:
    (course / "data.csv").write_text("a,b\n1,2\n")
    (course / ".hidden.ipynb").write_text("{}")
    (course / ".ipynb_checkpoints").mkdir()
    (course / ".ipynb_checkpoints" / "v40-checkpoint.ipynb").write_text("{}")
    os.chmod(course / "data.csv", 0o600)
    dest = tmp_path / "task"
    dest.mkdir()
    report = deploy([course], dest)
    assert report.ok
    assert sorted(p.name for p in dest.iterdir()) == sorted([*CASES, "data.csv"])
    assert (dest / "data.csv").stat().st_mode & 0o777 == 0o644  # world-readable
    for name in CASES:
        assert (dest / name).stat().st_mode & 0o444 == 0o444
        assert (dest / name).read_bytes() == (DATA / "expected" / name).read_bytes()
    assert report.count(COPIED) == 1


def test_recursive_keeps_structure(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "week1" / "sub").mkdir(parents=True)
    shutil.copy2(DATA / "v40.ipynb", src / "week1" / "sub" / "a.ipynb")
    shutil.copy2(DATA / "v40.ipynb", src / "top.ipynb")
    dest = tmp_path / "dest"
    dest.mkdir()
    flat = Deployer(world_readable=True).run([src], dest)
    assert [r.target.name for r in flat.results] == ["top.ipynb"]
    deep = Deployer(recursive=True, world_readable=True).run([src], dest)
    assert (dest / "week1" / "sub" / "a.ipynb").exists()
    assert read_notebook(dest / "week1" / "sub" / "a.ipynb")["cells"][0]["metadata"]["tags"][0] == "filename:a.ipynb"
    assert deep.ok


def test_missing_destination_is_an_error(course: Path, tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="destination directory does not exist"):
        deploy([course], tmp_path / "nope")


def test_dry_run_writes_nothing(course: Path) -> None:
    before = {p: p.read_bytes() for p in course.iterdir()}
    report = deploy([course], dry_run=True)
    assert report.count(NUMBERED) == len(CASES) - 1
    assert {p: p.read_bytes() for p in course.iterdir()} == before
    assert "dry run" in report.summary()


def test_renumber_warning_names_the_file(course: Path) -> None:
    deploy([course / "v40.ipynb"], backup=False)
    nb = json.loads((course / "v40.ipynb").read_text())
    nb["cells"].insert(
        0, {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": "new"}
    )
    (course / "v40.ipynb").write_text(json.dumps(nb))
    report = deploy([course / "v40.ipynb"], backup=False)
    (warning,) = report.results[0].warnings
    assert str(course / "v40.ipynb") in warning and "1->2" in warning and "2->3" in warning


def test_backup_and_undo_restore_exact_bytes(course: Path) -> None:
    originals = {p.name: p.read_bytes() for p in course.glob("*.ipynb")}
    report = deploy([course])
    assert report.backup is not None and report.backup == latest_backup(course)
    assert (course / "v40.ipynb").read_bytes() != originals["v40.ipynb"]
    restored = undo(course)
    assert {p.name for p in restored} == set(originals) - {"no-code.ipynb"}
    assert {p.name: p.read_bytes() for p in course.glob("*.ipynb")} == originals
    with pytest.raises(DeployError, match="no deploy backup"):
        undo(course)


def test_step_must_be_positive() -> None:
    with pytest.raises(DeployError):
        Deployer(step=0)
