"""Benchmark the grading analytics (issue #7).

1. ``analyze_submissions`` over 500 submissions of a 60-code-cell notebook (with a task
   directory, so every cell is also compared) against a floor measured in the same run and
   process: ``json.load`` of the same files. Target: analysis <= 2x the floor.
2. Report generation (read + join the log, draw the four charts, write the page) for a log of
   100,000 records (client + server), and its parts. Figures only; no target.

Run: .venv/bin/python benchmarks/grading_analyze.py [--submissions N] [--records N]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from timing import interleaved, time_call

CELLS = 60


def task_notebook(cells: int) -> dict:
    out = []
    for n in range(1, cells + 1):
        out.append(
            {"cell_type": "markdown", "id": f"m{n}", "metadata": {}, "source": [f"## Exercise {n}\n", "Explain.\n"]}
        )
        out.append(
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"c{n}",
                "metadata": {"tags": ["filename:kadai.ipynb", f"codenum:{n}"]},
                "outputs": [],
                "source": [f"# exercise {n}\n", "def f(x):\n", "    pass\n"],
            }
        )
    return {
        "cells": out,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def submission(task: dict, user: str, rng: random.Random) -> dict:
    nb = json.loads(json.dumps(task))
    count = 0
    for cell in nb["cells"]:
        if cell["cell_type"] != "code" or rng.random() < 0.1:
            continue
        count += 1
        cell["execution_count"] = count
        cell["source"] = [f"# {user}\n", "def f(x):\n", f"    return x * {rng.randint(1, 9)}\n", "print(f(3))\n"]
        roll = rng.random()
        if roll < 0.15:
            cell["outputs"] = [
                {
                    "output_type": "error",
                    "ename": "NameError",
                    "evalue": "name 'y' is not defined",
                    "traceback": ["\u001b[0;31m-------\u001b[0m", "Traceback ...", "NameError: y"],
                }
            ]
        elif roll < 0.6:
            cell["outputs"] = [
                {"output_type": "stream", "name": "stdout", "text": [f"{i}\n" for i in range(rng.randint(1, 20))]}
            ]
        else:
            cell["outputs"] = [
                {
                    "output_type": "execute_result",
                    "execution_count": count,
                    "metadata": {},
                    "data": {"text/plain": [str(rng.random())], "text/html": ["<b>", str(rng.random()), "</b>"]},
                }
            ]
    nb["metadata"]["ipynb_tools"] = {
        "submission": {
            "user": user,
            "submitted_at": "2024-04-17T10:00:00Z",
            "source_name": "kadai.ipynb",
            "source_sha256": "0" * 64,
        }
    }
    return nb


def make_course(root: Path, submissions: int) -> tuple[Path, Path, int]:
    task_dir, submit_dir = root / "task", root / "submit"
    task_dir.mkdir()
    submit_dir.mkdir()
    task = task_notebook(CELLS)
    (task_dir / "kadai.ipynb").write_text(json.dumps(task, indent=1), encoding="utf-8")
    rng = random.Random(7)
    total = 0
    for i in range(submissions):
        user = f"s{i:05d}"
        data = json.dumps(submission(task, user, rng), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        (submit_dir / f"kadai_{user}.ipynb").write_text(data, encoding="utf-8")
        total += len(data)
    return task_dir, submit_dir, total


def floor(submit_dir: Path) -> None:
    for path in sorted(submit_dir.iterdir()):
        if path.name.endswith(".ipynb"):
            with open(path, encoding="utf-8") as f:
                json.load(f)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=500)
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()

    from ipynb_tools.grading.analysis import analyze_submissions
    from ipynb_tools.grading.logs import load_logs
    from ipynb_tools.grading.report import write_report
    from ipynb_tools.grading.samplelog import write_sample_log

    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        task_dir, submit_dir, size = make_course(root, args.submissions)
        analysis = analyze_submissions(submit_dir, task_dir)  # warm-up: imports, page cache
        assert len(analysis.cells) == args.submissions * CELLS and not analysis.problems, analysis.problems
        floor_t, ours_t = interleaved(
            lambda: time_call(lambda: floor(submit_dir), repeat=3),
            lambda: time_call(lambda: analyze_submissions(submit_dir, task_dir), repeat=3),
        )
        ratio = ours_t.median / floor_t.median
        print(
            f"analyze: {args.submissions} submissions x {CELLS} code cells, {size / 1e6:.1f} MB, "
            f"{len(analysis.cells)} rows"
        )
        print(f"  floor json.load   median {floor_t.median:.3f}s  best {floor_t.best:.3f}s")
        print(f"  analyze_submissions median {ours_t.median:.3f}s  best {ours_t.best:.3f}s")
        print(f"  ratio {ratio:.2f}x (target <= 2.0x) {'OK' if ratio <= 2.0 else 'MISSED'}")
        ok &= ratio <= 2.0

        users = 200
        log = root / "log.jsonl"
        records = 0
        runs = max(1, args.records // users // 2)
        while records < args.records:
            records = write_sample_log(
                log, [f"u{i:03d}" for i in range(users)], "kadai.ipynb", range(1, CELLS + 1), runs_per_user=runs
            )
            runs += max(1, (args.records - records) // users // 2 + 1)
        start = time.perf_counter()
        logs = load_logs(log)
        parsed = time.perf_counter()
        result = write_report(root / "report.html", logs=logs)
        done = time.perf_counter()
        page = result.path.stat().st_size
        print(f"report: {records} log records ({len(logs.executions)} executions, {users} users)")
        print(
            f"  read + join {parsed - start:.2f}s, charts + page {done - parsed:.2f}s, "
            f"total {done - start:.2f}s; page {page / 1e6:.2f} MB"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
