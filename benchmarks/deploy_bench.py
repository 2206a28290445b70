"""Benchmark ipynb_deploy (issue #2).

1. Deploy of a generated course (200 notebooks x 100 code cells, ~200 KB each) against a floor
   measured in the same run: one Python process that only json.loads and json.dumps the same files
   (in Jupyter's format) back to disk. Target: deploy <= 1.5x the floor.
2. Cold start of ``ipynb_deploy --help`` against ``python -c pass`` (same interpreter).
   Target: <= 3x.

Run: .venv/bin/python benchmarks/deploy_bench.py [--notebooks N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from timing import interleaved, time_process

FLOOR = r"""
import json, os, sys
for name in sorted(os.listdir(sys.argv[1])):
    if not name.endswith(".ipynb"):
        continue
    path = os.path.join(sys.argv[1], name)
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n")
"""


def make_course(directory: Path, notebooks: int, cells: int) -> int:
    directory.mkdir(parents=True)
    total = 0
    for i in range(notebooks):
        nb = {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "cells": [
                {
                    "cell_type": "code",
                    "id": f"c{i}-{j}",
                    "execution_count": j,
                    "metadata": {},
                    "outputs": [
                        {"name": "stdout", "output_type": "stream", "text": [f"結果 {j} " + "x" * 60 + "\n"] * 20}
                    ],
                    "source": [f"# 課題 {i} セル {j}\n", f"value_{j} = sum(range({j}))\n", f"print(value_{j})"],
                }
                for j in range(cells)
            ],
        }
        data = json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
        (directory / f"kadai-{i:03d}.ipynb").write_text(data, encoding="utf-8")
        total += len(data.encode())
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebooks", type=int, default=200)
    parser.add_argument("--cells", type=int, default=100)
    args = parser.parse_args()
    python = sys.executable
    deploy_cmd = str(Path(python).with_name("ipynb_deploy"))

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        size = make_course(base / "pristine", args.notebooks, args.cells)
        work = base / "work"

        def fresh() -> None:
            shutil.rmtree(work, ignore_errors=True)
            shutil.copytree(base / "pristine", work)

        floor, dep = interleaved(
            lambda: time_process([python, "-c", FLOOR, str(work)], repeat=1, setup=fresh),
            lambda: time_process([deploy_cmd, "-q", "--no-backup", "."], repeat=1, setup=fresh, cwd=work),
            rounds=3,
        )
        _, dep_backup = interleaved(
            lambda: time_process([python, "-c", "pass"], repeat=1),
            lambda: time_process([deploy_cmd, "-q", "."], repeat=1, setup=fresh, cwd=work),
            rounds=3,
        )
        fresh()
        time_process([deploy_cmd, "-q", "--no-backup", "."], repeat=1, cwd=work)
        redeploy = time_process([deploy_cmd, "-q", "."], repeat=3, cwd=work)

    start_pass, start_help = interleaved(
        lambda: time_process([python, "-c", "pass"], repeat=10),
        lambda: time_process([deploy_cmd, "--help"], repeat=10),
        rounds=3,
    )
    print(f"course: {args.notebooks} notebooks x {args.cells} code cells, {size / args.notebooks / 1024:.0f} KB each")
    print(f"floor (json load+dump, one process): median {floor.median:.3f}s")
    print(
        f"ipynb_deploy --no-backup .:          median {dep.median:.3f}s  "
        f"ratio {dep.median / floor.median:.2f}x (target <= 1.5x)"
    )
    print(
        f"ipynb_deploy . (with backup):        median {dep_backup.median:.3f}s  "
        f"ratio {dep_backup.median / floor.median:.2f}x"
    )
    print(
        f"re-deploy, nothing changed:          median {redeploy.median:.3f}s  "
        f"ratio {redeploy.median / floor.median:.2f}x"
    )
    print(
        f"python -c pass: best {start_pass.best * 1000:.1f} ms; "
        f"ipynb_deploy --help: best {start_help.best * 1000:.1f} ms; "
        f"ratio {start_help.best / start_pass.best:.2f}x (target <= 3x)"
    )
    ok = dep.median / floor.median <= 1.5 and start_help.best / start_pass.best <= 3
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
