"""Task-to-personal sync against ``cp -a`` of the same tree, measured in the same run.

A task volume of 2,000 files / 200 MB (a few notebooks, mostly data files, in
sub-directories) is copied into an empty personal directory by
``ipynb_tools.sync.sync_tree`` and by ``cp -a``; then a re-sync with nothing
changed is timed. Targets: first sync at most 1.3x ``cp -a``; re-sync at most
10% of the first sync. The durable mode (one ``syncfs`` before the manifest)
is compared with ``cp -a && sync -f`` the same way.

    .venv/bin/python benchmarks/sync_bench.py [--files 2000] [--mb 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ipynb_tools.sync import sync_tree


def make_task(root: Path, files: int, total_mb: int) -> None:
    """``files`` files of about ``total_mb`` MB in all: 5% notebooks, the rest binary data, 20 per directory."""
    per_file = total_mb * 1024 * 1024 // files
    for i in range(files):
        sub = root / f"week{i // 20:03}"
        sub.mkdir(parents=True, exist_ok=True)
        if i % 20 == 0:
            cells = [
                {
                    "cell_type": "code",
                    "execution_count": None,
                    "outputs": [],
                    "source": f"x = {n}\n" * 20,
                    "metadata": {"tags": [f"filename:nb{i:05}.ipynb", f"codenum:{n + 1}"]},
                }
                for n in range(200)
            ]
            nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
            text = json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
            (sub / f"nb{i:05}.ipynb").write_text(text)
        else:
            (sub / f"data{i:05}.bin").write_bytes(os.urandom(per_file))


def drop(path: Path) -> None:
    shutil.rmtree(path)


def timed(func) -> float:
    """Wall time of ``func``, starting with no dirty pages left by the previous measurement."""
    os.sync()
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def check_nothing_done(report) -> None:
    if report.changed or not report.ok:
        raise SystemExit(f"re-sync did something: {report.summary()}")


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="best of N for each measurement")
    parser.add_argument("--dir", default=None, help="where to build the trees (default: a temp dir)")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="sync-bench-", dir=args.dir))
    try:
        task = base / "task"
        make_task(task, args.files, args.mb)
        size = tree_bytes(task)
        subprocess.run(["cat", *map(str, task.rglob("*.bin"))], stdout=subprocess.DEVNULL, check=False)  # warm cache
        print(f"task tree: {args.files} files, {size / 1e6:.0f} MB in {base}")

        def cp_a(durable: bool) -> float:
            dest = base / "cp"
            t = timed(
                lambda: (
                    subprocess.run(["cp", "-a", str(task), str(dest)], check=True)
                    if not durable
                    else subprocess.run(f"cp -a '{task}' '{dest}' && sync -f '{dest}'", shell=True, check=True)
                )
            )
            drop(dest)
            return t

        def first_sync(durable: bool) -> tuple[float, float]:
            dest = base / "personal"
            dest.mkdir()
            t1 = timed(lambda: sync_tree(task, dest, durable=durable))
            t2 = min(
                timed(lambda: check_nothing_done(sync_tree(task, dest, durable=durable))) for _ in range(args.rounds)
            )
            drop(dest)
            return t1, t2

        results = {}
        for durable in (False, True):
            cp_times, sync_times, resync_times = [], [], []
            for _ in range(args.rounds):
                cp_times.append(cp_a(durable))
                first, again = first_sync(durable)
                sync_times.append(first)
                resync_times.append(again)
            cp_t, sync_t, resync_t = min(cp_times), min(sync_times), min(resync_times)
            results[durable] = (cp_t, sync_t, resync_t)
            label = "durable (syncfs)   vs cp -a && sync -f" if durable else "default, no flush  vs cp -a          "
            print(
                f"{label}: cp {cp_t:.3f}s  sync {sync_t:.3f}s  ratio {sync_t / cp_t:.2f}x (target <= 1.3x); "
                f"re-sync {resync_t * 1000:.1f} ms = {resync_t / sync_t:.1%} of the first (target <= 10%)"
            )
        cp_t, sync_t, resync_t = results[False]
        ok = sync_t / cp_t <= 1.3 and resync_t / sync_t <= 0.10
        print(
            f"first-sync/cp-a ratio: {sync_t / cp_t:.2f}  re-sync/first ratio: {resync_t / sync_t:.3f}  "
            f"{'OK' if ok else 'OVER TARGET'}"
        )
        return 0 if ok else 1
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
