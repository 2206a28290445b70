"""The README's demo command runs the whole course end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ipynb_tools.demo import MARKER, STUDENTS, DemoError, run_demo
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
