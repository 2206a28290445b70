"""Benchmark: ``ipynb_submit`` of a 1 MB notebook, whole process, against ``python3 -c pass``.

Both are run with the virtualenv's interpreter, interleaved, in the same run;
the ratio of the medians must be at most 4 (issue #3). Each submission is a
real one: a 1 MB notebook (200 code cells with text outputs and a PNG) handed
in to a 3777 directory, replacing the previous copy, kept in the home, logged.

    .venv/bin/python benchmarks/submit_startup.py [--runs N] [--limit 4]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make_notebook(path: Path, size: int = 1024 * 1024) -> None:
    """A realistic ~1 MB notebook: many small code cells with outputs, one embedded image."""
    cells = []
    i = 0
    png = base64.b64encode(os.urandom(150_000)).decode()
    cells.append({"cell_type": "markdown", "id": "intro", "metadata": {}, "source": ["# 課題1\n", "説明"]})
    while True:
        i += 1
        cells.append(
            {
                "cell_type": "code",
                "execution_count": i,
                "id": f"c{i}",
                "metadata": {"tags": ["filename:kadai-1.ipynb", f"codenum:{i}"]},
                "source": [f"x{i} = [k * {i} for k in range(10)]\n", f"print(x{i})\n"],
                "outputs": [
                    {
                        "name": "stdout",
                        "output_type": "stream",
                        "text": [f"line {j}: " + "値" * 20 + "abc" * 10 + "\n" for j in range(12)],
                    }
                ],
            }
        )
        if i == 5:
            cells[-1]["outputs"].append(
                {"output_type": "display_data", "metadata": {}, "data": {"image/png": png, "text/plain": ["<Figure>"]}}
            )
        nb = {
            "cells": cells,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        text = json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
        if len(text.encode()) >= size:
            path.write_text(text, encoding="utf-8")
            return


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"command failed: {' '.join(cmd)}\n{proc.stderr.decode(errors='replace')}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--limit", type=float, default=4.0)
    opts = ap.parse_args()
    bindir = Path(sys.executable).parent
    venv_bin = ROOT / ".venv" / "bin"
    if (venv_bin / "python").exists():
        bindir = venv_bin
    python = str(bindir / "python")
    submit = str(bindir / "ipynb_submit")
    base = Path(tempfile.mkdtemp(prefix="ipynb-submit-bench-"))
    try:
        home = base / "home"
        home.mkdir()
        target = base / "submit"
        target.mkdir()
        os.chmod(target, 0o3777)
        work = base / "work"
        work.mkdir()
        nb = work / "kadai-1.ipynb"
        make_notebook(nb)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NB_", "IPYNB_", "JUPYTERHUB_"))}
        env.update(HOME=str(home), JUPYTERHUB_USER="bench", NB_WRKDIR=str(base / "works"))
        # As installed: byte-code cached (in a private prefix, so the tree stays clean) for both commands.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(base / "pycache")
        floor_cmd = [python, "-c", "pass"]
        submit_cmd = [submit, "-q", nb.name, str(target)]
        for _ in range(3):  # warm caches and byte-code for both
            timed(floor_cmd, env, work)
            timed(submit_cmd, env, work)
        floor, subm = [], []
        for _ in range(opts.runs):
            floor.append(timed(floor_cmd, env, work))
            subm.append(timed(submit_cmd, env, work))
        f, s = statistics.median(floor), statistics.median(subm)
        ratio = s / f
        size = nb.stat().st_size
        print(f"notebook: {size} bytes ({size / 1048576:.2f} MB); runs: {opts.runs}")
        print(f"python -c pass : median {f * 1000:7.1f} ms")
        print(f"ipynb_submit   : median {s * 1000:7.1f} ms")
        print(f"ratio          : {ratio:.2f} (limit {opts.limit})")
        return 0 if ratio <= opts.limit else 1
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
