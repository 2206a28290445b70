"""Submission analysis: each column of the tidy table, the summaries, exports, bad files listed."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from ipynb_tools.grading.analysis import CELL_COLUMNS, analyze_submissions, output_bytes


@pytest.fixture(scope="module")
def analysis():
    data = Path(__file__).resolve().parents[1] / "data" / "grading"
    return analyze_submissions(data / "submit", data / "task")


def row(analysis, user: str, codenum: int, notebook: str = "kadai-1.ipynb") -> pd.Series:
    cells = analysis.cells
    found = cells[(cells.user == user) & (cells.codenum == codenum) & (cells.notebook == notebook)]
    assert len(found) == 1
    return found.iloc[0]


def test_one_row_per_user_notebook_codenum(analysis) -> None:
    cells = analysis.cells
    assert list(cells.columns) == CELL_COLUMNS
    assert not cells.duplicated(["user", "notebook", "codenum"]).any()
    assert sorted(set(zip(cells.user, cells.notebook, strict=True))) == [
        ("alice", "kadai-1.ipynb"),
        ("bob", "kadai-1.ipynb"),
        ("carol", "kadai-1.ipynb"),
        ("dave", "kadai-2.ipynb"),
    ]
    assert cells[cells.user == "alice"].codenum.tolist() == [1, 2, 3, 4]


def test_present(analysis) -> None:
    assert bool(row(analysis, "alice", 3).present)
    assert not bool(row(analysis, "bob", 3).present)  # bob deleted cell 3: a row only because of the task


def test_changed(analysis) -> None:
    assert bool(row(analysis, "alice", 1).changed)
    assert not bool(row(analysis, "bob", 2).changed)  # left as handed out
    assert pd.isna(row(analysis, "bob", 3).changed)  # nothing to compare
    assert pd.isna(row(analysis, "dave", 1, "kadai-2.ipynb").changed)  # no task version of kadai-2


def test_executed_and_execution_count(analysis) -> None:
    alice3 = row(analysis, "alice", 3)
    assert bool(alice3.executed) and alice3.execution_count == 3  # run, no output
    bob2 = row(analysis, "bob", 2)
    assert not bool(bob2.executed) and pd.isna(bob2.execution_count)
    assert str(analysis.cells.execution_count.dtype) == "Int64"


def test_error_name(analysis) -> None:
    assert row(analysis, "bob", 1).error_name == "SyntaxError"
    assert row(analysis, "bob", 4).error_name == "NameError"
    assert pd.isna(row(analysis, "alice", 4).error_name)


def test_output_bytes(analysis) -> None:
    assert row(analysis, "alice", 1).output_bytes == len("Hello, world\n")
    assert row(analysis, "alice", 4).output_bytes == len("144")
    assert row(analysis, "alice", 3).output_bytes == 0
    assert output_bytes([{"output_type": "stream", "text": ["日本", "語\n"]}]) == len("日本語\n".encode())
    assert output_bytes(
        [{"output_type": "display_data", "data": {"text/plain": "x", "application/json": {"a": 1}}}]
    ) == 1 + len('{"a": 1}')


def test_copies_are_merged(analysis) -> None:
    carol4 = row(analysis, "carol", 4)
    assert carol4.copies == 2
    assert carol4.execution_count == 5  # the highest
    assert carol4.output_bytes == len("144") + len("9")
    assert row(analysis, "bob", 3).copies == 0


def test_summaries(analysis) -> None:
    per_cell = analysis.per_cell().set_index(["notebook", "codenum"])
    assert per_cell.loc[("kadai-1.ipynb", 3)].to_dict() == {
        "rows": 3,
        "present": 2,
        "changed": 2,
        "executed": 2,
        "errors": 0,
        "output_bytes": 0,
    }
    assert per_cell.loc[("kadai-1.ipynb", 1), "errors"] == 1
    per_user = analysis.per_user().set_index("user")
    assert per_user.loc["bob"].to_dict() == {
        "notebooks": 1,
        "rows": 4,
        "present": 3,
        "changed": 1,
        "executed": 2,
        "errors": 2,
        "output_bytes": per_user.loc["bob", "output_bytes"],
    }
    assert per_user.loc["alice", "errors"] == 0


def test_bad_submissions_are_listed_not_fatal(analysis) -> None:
    problems = {p.name: m for p, m in analysis.problems}
    assert "not valid JSON" in problems["kadai-1_mallory.ipynb"]
    assert "nbformat 3" in problems["kadai-1_oldver.ipynb"]
    assert "no task notebook kadai-2.ipynb" in problems["kadai-2_dave.ipynb"]
    assert "readme.txt" not in problems
    assert analysis.submissions.set_index("user").loc["alice", "submitted_at"] == "2024-04-17T10:05:00Z"


def test_without_task_only_present_cells(grading_data: Path) -> None:
    analysis = analyze_submissions(grading_data / "submit")
    bob = analysis.cells[analysis.cells.user == "bob"]
    assert bob.codenum.tolist() == [1, 2, 4]
    assert bob.changed.isna().all()


def test_exports(analysis, tmp_path: Path) -> None:
    data = json.loads(analysis.to_json())
    assert set(data) == {"cells", "per_cell", "per_user", "submissions", "problems"}
    first = data["cells"][0]
    assert first["user"] == "alice" and first["present"] is True
    missing = next(c for c in data["cells"] if c["user"] == "bob" and c["codenum"] == 3)
    assert missing["changed"] is None and missing["execution_count"] is None
    back = pd.read_csv(io.StringIO(analysis.to_csv()))
    assert list(back.columns) == CELL_COLUMNS and len(back) == len(analysis.cells)
    sheets = pd.read_excel(io.BytesIO(analysis.to_xlsx()), sheet_name=None)
    assert set(sheets) == {"cells", "per_cell", "per_user", "submissions", "problems"}


def test_empty_or_missing_directory(tmp_path: Path) -> None:
    empty = analyze_submissions(tmp_path)
    assert empty.cells.empty and empty.per_user().empty and empty.per_cell().empty
    from ipynb_tools.errors import FileProblem

    with pytest.raises(FileProblem, match="no such directory"):
        analyze_submissions(tmp_path / "nope")
