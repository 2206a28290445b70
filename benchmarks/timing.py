"""Timing helpers shared by the benchmarks: whole-process timings, best and median of N."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass
class Timing:
    """Wall-clock seconds of repeated runs."""

    runs: list[float]

    @property
    def best(self) -> float:
        return min(self.runs)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


def time_call(func: Callable[[], object], repeat: int = 5, setup: Callable[[], object] | None = None) -> Timing:
    """Time ``func`` ``repeat`` times, running ``setup`` (untimed) before each run."""
    runs = []
    for _ in range(repeat):
        if setup:
            setup()
        start = time.perf_counter()
        func()
        runs.append(time.perf_counter() - start)
    return Timing(runs)


def time_process(
    cmd: Sequence[str], repeat: int = 5, setup: Callable[[], object] | None = None, **kwargs: object
) -> Timing:
    """Time a whole process (start-up included); it must exit 0."""
    return time_call(lambda: subprocess.run(cmd, check=True, capture_output=True, **kwargs), repeat, setup)  # type: ignore[arg-type]


def interleaved(a: Callable[[], Timing], b: Callable[[], Timing], rounds: int = 3) -> tuple[Timing, Timing]:
    """Alternate two measurements so machine noise hits both alike."""
    ra: list[float] = []
    rb: list[float] = []
    for _ in range(rounds):
        ra += a().runs
        rb += b().runs
    return Timing(ra), Timing(rb)
