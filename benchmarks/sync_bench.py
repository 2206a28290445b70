"""Task-to-personal sync against ``cp -a`` of the same tree, measured in the same run.

A task volume of 2,000 files / 200 MB (a few notebooks, mostly data files, in
sub-directories) is copied into an empty personal directory by
``ipynb_tools.sync.sync_tree`` and by ``cp -a``; then a re-sync with nothing
changed is timed. Targets (issue 12, item 11): first sync at most 1.3x ``cp -a``;
an unchanged re-sync at most 5% of the first sync. The durable mode (one
``syncfs`` per placement run) is compared with ``cp -a && sync -f`` the same way.

Each round times ``cp -a`` and then sync back to back, and the ratio is taken within
the round; the figures are the median ratio over the rounds and their spread
(min-max), with the load average, since a shared machine's load moves between
rounds. Wall time is what a student waits for; the process CPU time (user + system,
``cp``'s as a child's) is printed beside it, as it moves less with the load.

    .venv/bin/python benchmarks/sync_bench.py --dir /dev/shm [--files 2000] [--mb 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ipynb_tools.sync import SyncReport, sync_tree


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


def file_system(path: Path) -> str:
    """The type of the file system holding ``path`` (``/proc/self/mounts``, longest mount point), e.g. ``ext4``."""
    best, kind = "", "unknown"
    with open("/proc/self/mounts", encoding="utf-8", errors="replace") as mounts:
        for line in mounts:
            fields = line.split()
            if len(fields) > 2:
                point = fields[1].replace("\\040", " ")
                inside = str(path) == point or str(path).startswith(point.rstrip("/") + "/")
                if inside and len(point) >= len(best):
                    best, kind = point, fields[2]
    return kind


def bare_copy(task: Path, dest: Path) -> None:
    """The floor: copy ``task`` into the new ``dest`` reading, digesting, writing and renaming each file,
    as sync's copy does, with nothing else (no record, no checks, no report)."""
    from ipynb_tools.sync import digest

    buf = bytearray(digest.CHUNK)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    os.mkdir(dest)
    for root, dirnames, filenames in os.walk(task):
        out = os.path.join(dest, os.path.relpath(root, task))
        for name in dirnames:
            os.mkdir(os.path.join(out, name))
        src_dir, out_dir = os.open(root, os.O_RDONLY), os.open(out, os.O_RDONLY)
        for name in filenames:
            src = os.open(name, os.O_RDONLY, dir_fd=src_dir)
            st = os.fstat(src)
            dst = os.open("." + name, flags, 0o644, dir_fd=out_dir)
            digest.copy_fd(src, dst, buf)
            os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))
            os.close(dst)
            os.close(src)
            os.rename("." + name, name, src_dir_fd=out_dir, dst_dir_fd=out_dir)
        os.close(src_dir)
        os.close(out_dir)


def drop(path: Path) -> None:
    shutil.rmtree(path)


def cpu_seconds() -> float:
    """User + system CPU time of this process (all threads) and of its waited-for children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(func: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU) seconds of ``func``, starting with no dirty pages left by the previous measurement."""
    os.sync()
    cpu, start = cpu_seconds(), time.perf_counter()
    func()
    return time.perf_counter() - start, cpu_seconds() - cpu


def check_nothing_done(report: SyncReport) -> None:
    if report.changed or not report.ok:
        raise SystemExit(f"re-sync did something: {report.summary()}")


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def spread(values: list[float], fmt: str) -> str:
    """``median (min-max)`` of ``values`` in ``fmt``."""
    return f"{format(statistics.median(values), fmt)} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5, help="rounds per mode; the median ratio is the figure")
    parser.add_argument("--resyncs", type=int, default=3, help="unchanged re-syncs per round (their median)")
    parser.add_argument("--dir", default=None, help="where to build the trees (default: a temp dir)")
    parser.add_argument("--no-durable", action="store_true", help="skip the durable mode")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="sync-bench-", dir=args.dir))
    try:
        task = base / "task"
        make_task(task, args.files, args.mb)
        size = tree_bytes(task)
        subprocess.run(["cat", *map(str, task.rglob("*.bin"))], stdout=subprocess.DEVNULL, check=False)  # warm cache
        print(
            f"task tree: {args.files} files, {size / 1e6:.0f} MB in {base} ({file_system(base)}); "
            f"load {load()} on {os.cpu_count()} CPUs"
        )

        def cp_a(durable: bool) -> tuple[float, float]:
            dest = base / "cp"
            command = ["cp", "-a", str(task), str(dest)]
            if durable:
                command = ["sh", "-c", 'cp -a "$1" "$2" && sync -f "$2"', "sh", str(task), str(dest)]
            t = timed(lambda: subprocess.run(command, check=True))
            drop(dest)
            return t

        def first_sync(durable: bool) -> tuple[tuple[float, float], tuple[float, float]]:
            dest = base / "personal"
            dest.mkdir()
            first = timed(lambda: sync_tree(task, dest, durable=durable))
            agains = [
                timed(lambda: check_nothing_done(sync_tree(task, dest, durable=durable))) for _ in range(args.resyncs)
            ]
            drop(dest)
            return first, (statistics.median(a[0] for a in agains), statistics.median(a[1] for a in agains))

        def floor() -> float:
            dest = base / "bare"
            wall, _cpu = timed(lambda: bare_copy(task, dest))
            drop(dest)
            return wall

        verdict = True
        for durable in (False,) if args.no_durable else (False, True):
            ratios, cpu_ratios, resync_shares, resync_cpu_shares, cps, syncs, resyncs = [], [], [], [], [], [], []
            floors: list[float] = []
            loads = [load()]
            for _ in range(args.rounds):
                cp_wall, cp_cpu = cp_a(durable)
                if not durable:
                    floors.append(floor() / cp_wall)
                (sync_wall, sync_cpu), (again, again_cpu) = first_sync(durable)
                ratios.append(sync_wall / cp_wall)
                cpu_ratios.append(sync_cpu / cp_cpu)
                resync_shares.append(again / sync_wall)
                resync_cpu_shares.append(again_cpu / sync_cpu)
                cps.append(cp_wall)
                syncs.append(sync_wall)
                resyncs.append(again * 1000)
            loads.append(load())
            label = "durable (syncfs) vs cp -a && sync -f" if durable else "default, no flush vs cp -a"
            print(
                f"{label} ({args.rounds} rounds, load {loads[0]} -> {loads[1]}):\n"
                f"  cp {spread(cps, '.3f')} s, sync {spread(syncs, '.3f')} s\n"
                f"  first sync / cp -a: {spread(ratios, '.2f')}x wall (target <= 1.3x), "
                f"{spread(cpu_ratios, '.2f')}x CPU\n"
                f"  unchanged re-sync: {spread(resyncs, '.1f')} ms = {spread(resync_shares, '.1%')} "
                f"of the first (target <= 5%), {spread(resync_cpu_shares, '.1%')} CPU"
            )
            if floors:
                print(f"  floor, a bare Python copy loop / cp -a: {spread(floors, '.2f')}x wall")
            met = statistics.median(ratios) <= 1.3 and statistics.median(resync_shares) <= 0.05
            verdict = verdict and met
        print("OK" if verdict else "OVER TARGET")
        return 0 if verdict else 1
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
