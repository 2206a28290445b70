"""Grading accounts for every hand-in (issue 12, items 1-4): names in NFD, ambiguous names, two hand-ins
of one user, hand-ins whose cells carry another notebook's numbering.

Each case is a small real class: the tests/data/grading task notebook, deployed under the name the
case needs, handed in by students as files named the way the case needs; extract, tocsv and
analyze are run through their CLI, and the test checks who is graded, from which file, and that
every file not graded is named on a problem line.
"""

from __future__ import annotations

import json
import os
import time
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner

from ipynb_tools.cli.main import cli
from ipynb_tools.grading.collect import collect_submissions
from ipynb_tools.grading.submissions import identify_submission, name_readings

GRADING = Path(__file__).resolve().parents[1] / "data" / "grading"
NFC_NAME = unicodedata.normalize("NFC", "データ分析課題.ipynb")
NFD_NAME = unicodedata.normalize("NFD", NFC_NAME)


def notebook(task: str, text: str, *, record: dict | None = None, tagged: bool = True) -> dict:
    """The task notebook deployed as ``task`` (its filename: tags), the code cells answered with ``text``."""
    nb = json.loads((GRADING / "task" / "kadai-1.ipynb").read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            tags = [t for t in cell["metadata"]["tags"] if not t.startswith("filename:")]
            cell["metadata"]["tags"] = ([f"filename:{task}"] if tagged else []) + (tags if tagged else [])
            cell["source"] = f"print({text!r})\n"
    if record is not None:
        nb["metadata"]["ipynb_tools"] = {"submission": record}
    return nb


def put(folder: Path, name: str, nb: dict, mtime: float | None = None) -> Path:
    path = folder / name
    path.write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def run(*args: str):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def grading_sources(path: Path) -> dict[str, list[str]]:
    """user -> sources of their code cells in a grading notebook."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, list[str]] = {}
    user = None
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown" and cell["source"].startswith("## "):
            user = cell["source"][3:]
            out[user] = []
        elif cell["cell_type"] == "code" and "codenum:999" not in cell["metadata"].get("tags", []):
            out[user].append(cell["source"])
    return out


# -- item 1: NFD and NFC names ------------------------------------------------------------------------
@pytest.mark.parametrize("task_form", ["NFC", "NFD"])
@pytest.mark.parametrize("given", ["NFC", "NFD"])
def test_nfd_hand_in_of_an_nfc_task_is_graded(tmp_path: Path, task_form: str, given: str) -> None:
    task = NFC_NAME if task_form == "NFC" else NFD_NAME
    submit = tmp_path / "submit"
    submit.mkdir()
    stem = NFD_NAME[: -len(".ipynb")]
    put(submit, f"{stem}_alice.ipynb", notebook(task, "alice"))  # from a Mac, no record
    put(submit, f"{NFC_NAME[:-6]}_bob.ipynb", notebook(task, "bob", record={"user": "bob", "source_name": task}))
    base = NFC_NAME if given == "NFC" else NFD_NAME
    result = run("extract", base, "1", "--from", str(submit), "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "2 student(s)" in result.output
    out = tmp_path / f"001-{NFC_NAME}"
    assert set(grading_sources(out)) == {"alice", "bob"}
    graded = tmp_path / "graded"
    graded.mkdir()
    out.rename(graded / out.name)
    result = run("tocsv", base, "--dir", str(graded))
    assert result.exit_code == 0, result.output
    assert (graded / f"{NFC_NAME[:-6]}.csv").read_text().splitlines()[1:] == ["alice,0,0", "bob,0,0"]


def test_nfd_task_directory_and_analysis(tmp_path: Path) -> None:
    task_dir, submit = tmp_path / "task", tmp_path / "submit"
    task_dir.mkdir()
    submit.mkdir()
    put(task_dir, NFD_NAME, notebook(NFD_NAME, "task"))
    put(submit, f"{NFC_NAME[:-6]}_alice.ipynb", notebook(NFC_NAME, "alice"))
    result = run("analyze", str(submit), "--task", str(task_dir), "--json", str(tmp_path / "a.json"), "-q")
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "a.json").read_text())
    assert [(s["user"], s["notebook"], s["in_task"]) for s in data["submissions"]] == [("alice", NFC_NAME, True)]
    assert data["problems"] == []


def test_both_forms_of_one_hand_in_count_once(tmp_path: Path) -> None:
    submit = tmp_path / "submit"
    submit.mkdir()
    now = time.time()
    put(submit, f"{NFD_NAME[:-6]}_alice.ipynb", notebook(NFD_NAME, "old"), mtime=now - 3600)
    put(submit, f"{NFC_NAME[:-6]}_alice.ipynb", notebook(NFC_NAME, "new"), mtime=now - 60)
    result = run("extract", NFC_NAME, "1", "--from", str(submit), "-o", str(tmp_path))
    assert result.exit_code == 0 and "1 student(s)" in result.output, result.output
    assert grading_sources(tmp_path / f"001-{NFC_NAME}") == {"alice": ["print('new')\n"]}
    assert f"the grading uses {NFC_NAME[:-6]}_alice.ipynb" in unicodedata.normalize("NFC", result.output)
    # the two names look the same on a screen: the line says which form was used and which was not
    assert "uses " + NFC_NAME[:-6] + "_alice.ipynb (its name in Unicode NFC)" in result.output
    assert "not this one (its name in Unicode NFD, as macOS writes it)" in result.output


# -- item 2: a name several task names can read -------------------------------------------------------
def test_ambiguous_name_is_resolved_by_the_tags(tmp_path: Path) -> None:
    who = identify_submission(tmp_path / "kadai_1_alice.ipynb", notebook("kadai_1.ipynb", "a"), ["kadai", "kadai_1"])
    assert (who.user, who.notebook) == ("alice", "kadai_1.ipynb")
    who = identify_submission(tmp_path / "kadai_1_alice.ipynb", notebook("kadai.ipynb", "a"), ["kadai", "kadai_1"])
    assert (who.user, who.notebook) == ("1_alice", "kadai.ipynb")  # the tags say kadai: then the user is 1_alice


def test_ambiguous_name_without_tags_is_reported_with_both_readings(tmp_path: Path) -> None:
    task_dir, submit = tmp_path / "task", tmp_path / "submit"
    task_dir.mkdir()
    submit.mkdir()
    put(task_dir, "kadai.ipynb", notebook("kadai.ipynb", "t"))
    put(task_dir, "kadai_1.ipynb", notebook("kadai_1.ipynb", "t"))
    put(submit, "kadai_1_alice.ipynb", notebook("kadai_1.ipynb", "alice", tagged=False))
    put(submit, "kadai_bob.ipynb", notebook("kadai.ipynb", "bob", tagged=False))
    result = run("analyze", str(submit), "--task", str(task_dir), "--json", str(tmp_path / "a.json"), "-q")
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "a.json").read_text())
    assert [(s["user"], s["notebook"]) for s in data["submissions"]] == [("bob", "kadai.ipynb")]  # never "1_alice"
    (problem,) = [p["problem"] for p in data["problems"] if p["path"].endswith("kadai_1_alice.ipynb")]
    assert "ambiguous name: user '1_alice' of kadai.ipynb or user 'alice' of kadai_1.ipynb" in problem
    # the prefix and suffix forms of one notebook can be ambiguous too
    assert name_readings("kadai_x_kadai.ipynb", "kadai") == ["x_kadai", "kadai_x"]


# -- item 3: two hand-ins of one user: say exactly which one is used --------------------------------
@pytest.mark.parametrize(
    ("first", "second", "used"),
    [
        ({"submitted_at": "2024-04-17T10:00:00Z"}, {"submitted_at": "2024-04-17T11:00:00Z"}, "second"),
        ({"submitted_at": "2024-04-17T19:30:00+09:00"}, {"submitted_at": "2024-04-17T11:00:00Z"}, "second"),
        ({"submitted_at": "2024-04-17T11:00:00.000000Z"}, {"submitted_at": "2024-04-17T10:59:59+00:00"}, "first"),
        ({}, {"submitted_at": "2024-04-17T11:00:00Z"}, "first"),  # no record: the file's time (later) counts
    ],
)
def test_the_message_names_the_hand_in_whose_cells_are_graded(tmp_path: Path, first, second, used) -> None:
    submit = tmp_path / "submit"
    submit.mkdir()
    files = {}
    for label, extra, name in (("first", first, "kadai-1_alice.ipynb"), ("second", second, "alice_kadai-1.ipynb")):
        record = {"user": "alice", "source_name": "kadai-1.ipynb", **extra} if extra else None
        files[label] = put(submit, name, notebook("kadai-1.ipynb", label, record=record), mtime=1713355000)
    os.utime(files["first"], (1713355000 + 86400, 1713355000 + 86400))  # the record-less one is written a day later
    result = run("extract", "kadai-1", "1", "--from", str(submit), "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert grading_sources(tmp_path / "001-kadai-1.ipynb") == {"alice": [f"print({used!r})\n"]}
    other = "second" if used == "first" else "first"
    line = next(line for line in result.output.splitlines() if "not used" in line)
    assert line.startswith(f"skipped {files[other]}: ")
    assert f"the grading uses {files[used].name}" in line


# -- item 4: the numbering the cells carry --------------------------------------------------------------
def test_a_renamed_hand_in_belongs_to_the_notebook_its_cells_are_numbered_for(tmp_path: Path) -> None:
    submit = tmp_path / "submit"
    submit.mkdir()
    record = {"user": "alice", "source_name": "kadai-1 (copy).ipynb"}
    put(submit, "kadai-1 (copy)_alice.ipynb", notebook("kadai-1.ipynb", "alice", record=record))
    put(submit, "kadai-2_bob.ipynb", notebook("kadai-1.ipynb", "bob", record={"user": "bob"}))  # kadai-1's cells
    put(submit, "kadai-1_carol.ipynb", notebook("kadai-1.ipynb", "carol"))
    seen: list[tuple[str, str]] = []
    subs = collect_submissions(submit, base="kadai-1", on_problem=lambda p, m: seen.append((p.name, m)))
    assert [(s.user, s.path.name) for s in subs] == [
        ("alice", "kadai-1 (copy)_alice.ipynb"),
        ("bob", "kadai-2_bob.ipynb"),
        ("carol", "kadai-1_carol.ipynb"),
    ]
    assert (
        "kadai-1 (copy)_alice.ipynb",
        "handed in from kadai-1 (copy).ipynb, but its cells are numbered for kadai-1.ipynb: graded as kadai-1.ipynb",
    ) in seen
    assert (
        "kadai-2_bob.ipynb",
        "its name does not fit kadai-1.ipynb, but its cells are numbered for it: graded as kadai-1.ipynb",
    ) in seen
    # without any record, the name is read with the task names known (here from --task)
    task_dir = tmp_path / "task"
    task_dir.mkdir()
    put(task_dir, "kadai-1.ipynb", notebook("kadai-1.ipynb", "t"))
    put(task_dir, "kadai-2.ipynb", notebook("kadai-2.ipynb", "t"))
    put(submit, "kadai-2_dave.ipynb", notebook("kadai-1.ipynb", "dave"))
    subs = collect_submissions(submit, bases=["kadai-1", "kadai-2"])
    assert ("dave", "kadai-1.ipynb") in [(s.user, s.notebook) for s in subs]
    result = run("report", "--submissions", str(submit), "-o", str(tmp_path / "r.html"), "-q", "--no-render")
    assert result.exit_code == 0
    assert "graded as kadai-1.ipynb" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_cells_numbered_for_two_notebooks_go_with_the_most(tmp_path: Path) -> None:
    nb = notebook("kadai-1.ipynb", "a")
    codes = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for cell in codes[1:]:  # a student pasted three cells of kadai-2 after kadai-1's first
        cell["metadata"]["tags"] = ["filename:kadai-2.ipynb", *cell["metadata"]["tags"][1:]]
    who = identify_submission(tmp_path / "kadai-1_alice.ipynb", nb, ["kadai-1", "kadai-2"])
    assert (who.user, who.notebook) == ("alice", "kadai-2.ipynb")
    assert who.notes == (
        "its name does not fit kadai-2.ipynb, but its cells are numbered for it: graded as kadai-2.ipynb",
    )


def test_extract_names_a_renamed_hand_in_it_cannot_read_a_user_from(tmp_path: Path) -> None:
    """Only BASE known (extract): a file named for kadai-2 with kadai-1's numbering and no record is
    kadai-1's, but its name gives no user for kadai-1: it is named on a problem line, not dropped."""
    submit = tmp_path / "submit"
    submit.mkdir()
    put(submit, "kadai-2_dave.ipynb", notebook("kadai-1.ipynb", "dave"))
    put(submit, "kadai-1_erin.ipynb", notebook("kadai-1.ipynb", "erin"))
    put(submit, "kadai-2_frank.ipynb", notebook("kadai-2.ipynb", "frank"))  # another notebook's: not kadai-1's
    result = run("extract", "kadai-1.ipynb", "1", "--from", str(submit), "-o", str(tmp_path))
    assert result.exit_code == 0
    assert set(grading_sources(tmp_path / "001-kadai-1.ipynb")) == {"erin"}
    assert "kadai-2_dave.ipynb: cannot tell the user" in result.output
    assert "frank" not in result.output


def test_extract_does_not_invent_a_user_when_the_class_names_a_longer_task(tmp_path: Path) -> None:
    """extract knows only BASE: kadai_1_alice.ipynb (no record, no tags) read for kadai.ipynb would be
    user '1_alice'; another hand-in's tags name kadai_1.ipynb, so the name is reported with both readings."""
    submit = tmp_path / "submit"
    submit.mkdir()
    put(submit, "kadai_1_alice.ipynb", notebook("kadai_1.ipynb", "alice", tagged=False))
    put(submit, "kadai_1_bob.ipynb", notebook("kadai_1.ipynb", "bob"))
    put(submit, "kadai_carol.ipynb", notebook("kadai.ipynb", "carol", tagged=False))
    result = run("extract", "kadai.ipynb", "1", "--from", str(submit), "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert set(grading_sources(tmp_path / "001-kadai.ipynb")) == {"carol"}
    assert (
        "kadai_1_alice.ipynb: ambiguous name: user '1_alice' of kadai.ipynb or user 'alice' of kadai_1.ipynb"
        in result.output
    )
    result = run("extract", "kadai_1.ipynb", "1", "--from", str(submit), "-o", str(tmp_path))
    assert result.exit_code == 0 and set(grading_sources(tmp_path / "001-kadai_1.ipynb")) == {"alice", "bob"}


def test_a_directory_under_a_hand_in_name_is_reported(tmp_path: Path) -> None:
    """A classmate's mkdir of kadai-1_carol.ipynb squats Carol's name like a touch does (ipynb_submit
    then uses a fallback name): grading names it, it was left out as a sub-directory without a word."""
    submit = tmp_path / "submit"
    submit.mkdir()
    (submit / "kadai-1_carol.ipynb").mkdir()
    put(submit, "kadai-1_carol~0123456789abcdef.ipynb", notebook("kadai-1.ipynb", "carol"))
    (submit / "kadai-2_dave.ipynb").mkdir()  # another notebook's name: not kadai-1's business
    result = run("extract", "kadai-1.ipynb", "1", "--from", str(submit), "-o", str(tmp_path))
    assert result.exit_code == 0 and set(grading_sources(tmp_path / "001-kadai-1.ipynb")) == {"carol"}
    assert "kadai-1_carol.ipynb: is a directory" in result.output
    assert "kadai-2_dave" not in result.output
