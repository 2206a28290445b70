"""The README's demo command runs the whole course end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ipynb_tools.demo import ANSWERS, COURSE_ID, LTI_ID, MARKER, STUDENTS, DemoError, run_demo
from ipynb_tools.execlog.query import Filters, stats
from ipynb_tools.execlog.store import Store
from ipynb_tools.notebook import read_notebook
from ipynb_tools.tags import cell_codenum


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    lines: list[str] = []
    result = run_demo(tmp_path / "demo", say=lines.append)
    # deploy numbered the task volume
    task_nb = read_notebook(result.task / "kadai-1.ipynb")
    assert [cell_codenum(c) for c in task_nb["cells"] if c["cell_type"] == "code"] == [1, 2, 3, 4]
    # every student submitted, with metadata naming them
    submitted = sorted(p.name for p in result.submit.glob("*.ipynb"))
    assert submitted == sorted(f"kadai-1_{u}.ipynb" for u in STUDENTS)
    meta = read_notebook(result.submit / "kadai-1_bob.ipynb")["metadata"]["ipynb_tools"]["submission"]
    assert meta["user"] == "bob"
    # grading table has the typed scores
    assert result.scores_csv.read_text().splitlines() == [
        "Name,P001,Total",
        "alice,10,10",
        "bob,6,6",
        "chen,4,4",
        "daisuke,7,7",
    ]
    # the report exists, is self-contained and links the renderings
    html = result.report.read_text(encoding="utf-8")
    assert html.count("<svg") >= 4 and "kadai-1_alice" in html and "<script src=" not in html
    assert len(json.loads((result.root / "receipts.json").read_text())) == len(STUDENTS)
    assert any("numbered 2 file(s)" in line for line in lines)
    # the students' cell runs were captured from real kernels and stored in the demo's SQLite store
    with Store.open(result.execlog, create=False) as store:
        figures = stats(store, Filters(course=COURSE_ID, lti=LTI_ID))
    answered = sum(len(cells) for cells in ANSWERS.values())
    assert (figures.executions, figures.ok, figures.error, figures.users) == (answered, answered - 2, 2, len(STUDENTS))
    per_user = {row["user"]: (row["ok"], row["error"]) for row in figures.per_user}
    assert per_user == {"alice": (4, 0), "bob": (3, 1), "chen": (2, 0), "daisuke": (2, 1)}
    per_cell = {
        (row["notebook"].rsplit("/", 1)[-1], row["codenum"]): (row["ok"], row["error"]) for row in figures.per_codenum
    }
    assert per_cell == {
        ("kadai-1.ipynb", 1): (4, 0),
        ("kadai-1.ipynb", 2): (3, 1),
        ("kadai-1.ipynb", 3): (3, 0),
        ("kadai-1.ipynb", 4): (1, 1),
    }
    # the errors are what the kernel raised for the wrong answers (bob's assert, daisuke's syntax)
    assert any("bob: ran 1:ok, 2:ok, 3:ok, 4:error(AssertionError)" in line for line in lines)
    assert any("daisuke: ran 1:ok, 2:error(SyntaxError), 3:ok" in line for line in lines)
    assert "execlog.sqlite" in html or str(result.execlog) in html


def test_demo_refuses_a_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep")
    with pytest.raises(DemoError, match="not a demo folder"):
        run_demo(tmp_path, say=lambda _: None)
    assert (tmp_path / "precious.txt").read_text() == "keep"


def test_demo_reruns_in_its_own_folder(tmp_path: Path) -> None:
    run_demo(tmp_path / "d", say=lambda _: None)
    assert (tmp_path / "d" / MARKER).exists()
    proc = subprocess.run(
        [sys.executable, "-m", "ipynb_tools.demo", str(tmp_path / "d")], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "Done. Open" in proc.stdout
