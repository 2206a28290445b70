"""tocsv: golden CSV from graded notebooks, the spreadsheet, and unreadable scores reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ipynb_tools.grading.scores import ScoresError, parse_score, scores_table, write_scores


def test_csv_matches_golden_file(course: Path) -> None:
    paths = write_scores("kadai-1.ipynb", course / "graded")
    assert paths == [course / "graded" / "kadai-1.csv"]
    assert paths[0].read_bytes() == (course / "expected" / "kadai-1.csv").read_bytes()


def test_table_columns_and_values(course: Path) -> None:
    table = scores_table("kadai-1", course / "graded")
    assert list(table.columns) == ["Name", "P001", "P004", "Total"]
    assert table["Name"].tolist() == ["alice", "bob", "carol"]
    assert table["P001"].tolist() == [10, 3, 10] and str(table["P001"].dtype) == "int64"
    assert table["Total"].tolist() == [15, 3, 14.5]


def test_xlsx_written_beside_the_csv(course: Path) -> None:
    import openpyxl

    paths = write_scores("kadai-1", course / "graded", xlsx=True)
    assert paths[1] == course / "graded" / "kadai-1.xlsx"
    sheet = openpyxl.load_workbook(paths[1]).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["Name", "P001", "P004", "Total"]
    assert rows[3] == ["carol", 10, 4.5, 14.5]


def test_user_missing_from_one_problem_scores_zero(course: Path) -> None:
    path = course / "graded" / "004-kadai-1.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    start = next(i for i, c in enumerate(nb["cells"]) if c["source"] == "## carol")
    nb["cells"] = nb["cells"][:start]
    path.write_text(json.dumps(nb), encoding="utf-8")
    table = scores_table("kadai-1", course / "graded")
    assert table.set_index("Name").loc["carol", "P004"] == 0


def test_non_numeric_scores_are_reported_by_user_and_file(course: Path) -> None:
    path = course / "graded" / "004-kadai-1.ipynb"
    text = (
        path.read_text(encoding="utf-8")
        .replace('"source": "0"', '"source": "good"')
        .replace('"source": "5"', '"source": ""')
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScoresError) as info:
        write_scores("kadai-1", course / "graded")
    problems = {(p.name, u): m for p, u, m in info.value.problems}
    assert problems == {
        ("004-kadai-1.ipynb", "bob"): "score 'good' is not a number",
        ("004-kadai-1.ipynb", "alice"): "score is empty",
    }
    assert "\n" not in str(info.value)
    assert not (course / "graded" / "kadai-1.csv").exists()  # nothing written


def test_no_grading_notebooks(tmp_path: Path) -> None:
    with pytest.raises(ScoresError, match=r"no grading notebooks NNN-kadai-1\.ipynb"):
        scores_table("kadai-1", tmp_path)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        (" 7\n", 7),
        ("2.5", 2.5),
        ("3 # late", 3),
        ("-1", -1),
        ("", None),
        ("abc", None),
        ("nan", None),
        ("1/2", None),
    ],
)
def test_parse_score(text: str, value) -> None:
    assert parse_score(text) == value
