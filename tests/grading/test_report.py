"""The HTML report: self-contained, four charts, summary, renderings linked; CLI end to end."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from ipynb_tools.grading.charts import progress_lines
from ipynb_tools.grading.logs import load_logs
from ipynb_tools.grading.report import build_report, write_report
from ipynb_tools.grading.samplelog import write_sample_log

CHART_IDS = ["chart-ok-error", "chart-cells", "chart-users", "chart-progress"]


def assert_self_contained(text: str) -> None:
    assert "<script" not in text.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text, re.I)
    assert "@import" not in text


def test_report_has_charts_summary_and_links(course: Path, tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    write_sample_log(log, ["alice", "bob", "carol"], codenums=range(1, 5))
    stages: list[tuple[str, int, int]] = []
    result = build_report(
        tmp_path / "report.html",
        submit_dir=course / "submit",
        task_dir=course / "task",
        log_paths=[log, course / "logs" / "broken.jsonl"],
        progress=lambda *a: stages.append(a),
    )
    text = result.path.read_text(encoding="utf-8")
    assert_self_contained(text)
    for chart in CHART_IDS:
        assert re.search(rf'<figure class="chart" id="{chart}">.*?<svg', text, re.S)
    assert text.count("<svg") == 4
    assert "Per student" in text and "Per code cell" in text
    assert "kadai-1_mallory.ipynb" in text  # bad submissions listed
    assert "yesterday-ish" in text  # bad log lines listed
    assert [p.name for p in result.renderings] == [
        "kadai-1_alice.html",
        "kadai-1_bob.html",
        "carol_kadai-1.html",
        "kadai-2_dave.html",
    ]
    for rendering in result.renderings:
        assert f'href="report_notebooks/{rendering.name}"' in text
        page = rendering.read_text(encoding="utf-8")
        assert "cdnjs" not in page and "require.min.js" not in page
    assert (
        "print(&#x27;Hello, world&#x27;)" in (tmp_path / "report_notebooks" / "kadai-1_alice.html").read_text()
        or "Hello, world" in (tmp_path / "report_notebooks" / "kadai-1_alice.html").read_text()
    )
    assert ("notebooks", 4, 4) in stages and ("charts", 4, 4) in stages and ("submissions", 6, 6) in stages


def test_report_without_anything_still_has_empty_charts(tmp_path: Path) -> None:
    result = write_report(tmp_path / "r.html")
    text = result.path.read_text(encoding="utf-8")
    assert text.count("<svg") == 4 and "No execution log was given" in text


def test_unrenderable_notebook_is_listed(course: Path, tmp_path: Path) -> None:
    result = write_report(
        tmp_path / "r.html",
        notebooks=[course / "submit" / "kadai-1_mallory.ipynb", course / "submit" / "kadai-1_alice.ipynb"],
    )
    assert [p.name for p in result.renderings] == ["kadai-1_alice.html"]
    assert result.problems and "mallory" in result.problems[0][0]


def test_progress_lines_break_after_30_minutes(grading_data: Path) -> None:
    lines = progress_lines(load_logs(grading_data / "logs" / "proxy.jsonl").executions)
    _, ys = lines["alice"]
    # 09:00, 09:01 (the /nc run has no codenum), then 09:40: a gap of 39 minutes
    assert [y if y == y else None for y in ys] == [1.0, 2.0, None, 2.0]


def test_cli_end_to_end(course: Path, tmp_path: Path) -> None:
    from ipynb_tools.cli.main import cli

    runner = CliRunner()
    work = tmp_path / "grading"
    work.mkdir()
    submit = str(course / "submit")
    r = runner.invoke(cli, ["extract", "kadai-1.ipynb", "1", "3", "--from", submit, "-o", str(work)])
    assert r.exit_code == 0, r.output
    assert (work / "001-kadai-1.ipynb").read_bytes() == (course / "expected" / "001-kadai-1.ipynb").read_bytes()
    assert "kadai-1_mallory.ipynb" in r.stderr
    r = runner.invoke(cli, ["extract", "kadai-1", "1", "--from", submit, "-o", str(work)])
    assert r.exit_code == 1 and "already exists" in r.stderr
    r = runner.invoke(cli, ["tocsv", "kadai-1", "--dir", str(course / "graded")])
    assert r.exit_code == 0, r.output
    assert (course / "graded" / "kadai-1.csv").read_text().startswith("Name,P001,P004,Total\n")
    r = runner.invoke(cli, ["tocsv", "kadai-1", "--dir", str(work)])
    assert r.exit_code == 0 and (work / "kadai-1.csv").read_text().splitlines()[1] == "alice,0,0"
    (work / "001-kadai-1.ipynb").write_text(
        (work / "001-kadai-1.ipynb").read_text().replace('"source": "0"', '"source": "ten"', 1)
    )
    r = runner.invoke(cli, ["tocsv", "kadai-1", "--dir", str(work)])
    assert r.exit_code == 1 and "001-kadai-1.ipynb: alice: score 'ten' is not a number" in r.stderr
    r = runner.invoke(
        cli,
        [
            "analyze",
            submit,
            "--task",
            str(course / "task"),
            "--csv",
            str(work / "cells.csv"),
            "--json",
            str(work / "a.json"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "Per student" in r.stdout and (work / "cells.csv").exists() and (work / "a.json").exists()
    log = work / "log.jsonl"
    write_sample_log(log, ["alice", "bob", "carol"])
    r = runner.invoke(cli, ["report", "--log", str(log), "--submissions", submit, "-o", str(work / "report.html")])
    assert r.exit_code == 0, r.output
    assert (work / "report.html").exists() and len(list((work / "report_notebooks").iterdir())) == 4
    r = runner.invoke(cli, ["report"])
    assert r.exit_code == 2


def test_cli_modules_do_not_import_heavy_libraries_at_import_time() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import ipynb_tools.cli.extract, ipynb_tools.cli.tocsv, ipynb_tools.cli.analyze, "
        "ipynb_tools.cli.report, ipynb_tools.grading; "
        "print(sorted(m for m in ('pandas', 'nbconvert', 'matplotlib', 'nbformat') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
