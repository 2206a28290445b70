"""Copying one placement run's files in several processes: how many, which files each, and the forking.

Why processes: a first copy spends about half its time in Python's per-file work (opening,
stamping, deciding) and half in the kernel copying data; threads share one interpreter lock, and
two copy threads measured slower than one on 2 CPUs, while two processes halve the wall time of
the copy phase where a CPU is free (issue 12, item 11: ``benchmarks/sync_bench.py``). Only the
copying is split: each process writes temp files beside their targets and sends back what it
staged; deciding, the record and placing stay in the one process that holds the record.

The children are forked from the sync itself (same user, same open descriptors, nothing imported
again) and end with :func:`os._exit`; one that dies (killed, out of memory) costs only its own
files, each reported failed (copied by the next sync), and its temp files are removed as a dead
writer's once it is reaped (:func:`ipynb_tools.fileops.remove_stale_temps`). A child dies with its parent (Linux
``PR_SET_PDEATHSIG``): a sync killed mid-copy leaves no process writing on behind it.
"""

from __future__ import annotations

import contextlib
import math
import os
import pickle
import signal
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from ..fileops import die_with_parent, load_native_calls

J = TypeVar("J")
R = TypeVar("R")

#: At most this many processes copy (more only contend for the disk).
MAX_WORKERS = 4
#: A run is split only when it holds at least this many files or bytes: below, forking and sending
#: the results back (~1-3 ms) costs more than the time it saves.
SPLIT_MIN_FILES = 128
SPLIT_MIN_BYTES = 16 << 20
#: The per-file work, in bytes of data copied in the same time, when runs are balanced (measured on
#: tmpfs: ~100 us of Python per file, data at ~1 GB/s).
FILE_WEIGHT = 100 << 10


def available_cpus() -> int:
    """The CPUs this process may use: its affinity mask, lowered by a cgroup CPU quota (containers).

    ``docker run --cpus 1.5`` sets a quota (cgroup v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``), not
    an affinity, so ``os.cpu_count()`` alone counts the host's. A quota rounds up (1.5 -> 2).
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    quota = cgroup_quota()
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return max(1, cpus)


def cgroup_quota(root: str = "/sys/fs/cgroup") -> float | None:
    """This process's cgroup CPU quota in CPUs (``root``: where the cgroup file system is mounted), or
    None when there is none or it cannot be read. Inside a container ``/sys/fs/cgroup`` is its own cgroup.
    """
    # Read as bytes: a text file's codec may be imported on first use, which a user's process
    # after setup's privilege drop cannot do ("unknown encoding: ascii").
    try:
        with open(f"{root}/cpu.max", "rb") as f:  # cgroup v2
            quota, period = f.read(64).split()[:2]
        return None if quota == b"max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        with open(f"{root}/cpu/cpu.cfs_quota_us", "rb") as f:  # cgroup v1
            quota_us = int(f.read(64))
        with open(f"{root}/cpu/cpu.cfs_period_us", "rb") as f:
            period_us = int(f.read(64))
    except (OSError, ValueError):
        return None
    return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us


def default_workers() -> int:
    """Copy processes for a sync now: :func:`workers_for` the CPUs available and the load average."""
    try:
        load = os.getloadavg()[0]
    except OSError:  # pragma: no cover - no /proc/loadavg
        load = 0.0
    return workers_for(available_cpus(), load)


def workers_for(cpus: int, load: float) -> int:
    """Copy processes for ``cpus`` available CPUs under a 1-minute ``load`` average (runnable processes).

    One process plus one per CPU the others leave free, at most ``cpus`` and :data:`MAX_WORKERS`:
    a second process only helps where a CPU is idle (on 2 CPUs with one busy, two copy processes
    were 10% slower than one; with both idle, 30% faster). At a lecture's start, when many
    servers start at once, each sync copies alone.
    """
    return max(1, min(MAX_WORKERS, cpus, int(cpus - load + 1)))


def split(jobs: Sequence[J], workers: int, size: Callable[[J], int], group: Callable[[J], str]) -> list[list[J]]:
    """``jobs`` cut into at most ``workers`` runs of about equal work, a group never cut.

    ``size``: a job's bytes; each job also weighs :data:`FILE_WEIGHT`. ``group``: a job's
    directory; all jobs of one directory go to the same run, also where they are not next to
    each other (a walk lists ``a/b``, then ``a/c/``'s files, then ``a/d``), so each process makes,
    opens and reports the moves of its own directories only. Groups keep the order of their first
    job, jobs their order within a group. One run (``[jobs]``, as given) when ``workers`` is 1 or
    the jobs hold fewer than :data:`SPLIT_MIN_FILES` files and :data:`SPLIT_MIN_BYTES` bytes.
    """
    data = sum(size(job) for job in jobs)
    if workers <= 1 or (len(jobs) < SPLIT_MIN_FILES and data < SPLIT_MIN_BYTES):
        return [list(jobs)]
    groups: dict[str, list[J]] = {}
    for job in jobs:
        groups.setdefault(group(job), []).append(job)
    share = (data + FILE_WEIGHT * len(jobs)) / workers
    runs: list[list[J]] = [[]]
    done = 0
    for members in groups.values():
        if runs[-1] and done >= share * len(runs) and len(runs) < workers:
            runs.append([])
        runs[-1].extend(members)
        done += sum(size(job) for job in members) + FILE_WEIGHT * len(members)
    return runs


class WorkerLost(Exception):
    """A copy process ended without sending its results back (killed, out of memory, a crash)."""


def run_split(runs: list[list[J]], work: Callable[[list[J], bool], R]) -> list[R | WorkerLost]:
    """``work(run, in_child)`` for each of ``runs``: the first here, each other one in a forked child.

    Returns each run's result in order, or a :class:`WorkerLost` for a child that did not send
    one. ``work`` must not raise in a child (an exception there is reported as a lost worker).
    A run whose child cannot be forked (a container's limit on processes, ``EAGAIN``) is done
    here after the first. Children are reaped before this returns, whatever happens here (a
    child still running when this process fails is killed).
    """
    load_native_calls()  # ctypes, for the child's prctl: a user's child may not be able to import it
    parent = os.getpid()
    children: dict[int, tuple[int, int]] = {}  # run index -> (pid, read end of its pipe), until collected
    try:
        for index, run in enumerate(runs[1:], 1):
            child = _fork(run, work, parent)
            if child is not None:
                children[index] = child
        results: list[R | WorkerLost] = [work(runs[0], False)]
        for index, run in enumerate(runs[1:], 1):
            child = children.pop(index, None)
            results.append(work(run, False) if child is None else cast("R | WorkerLost", _collect(*child)))
        return results
    finally:
        for pid, read in children.values():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.close(read)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _fork(run: list[J], work: Callable[[list[J], bool], R], parent: int) -> tuple[int, int] | None:
    """A child doing ``run`` and the read end of its pipe; None when no child can be made now."""
    try:
        read, write = os.pipe()
    except OSError:  # out of descriptors
        return None
    try:
        pid = os.fork()
    except OSError:  # EAGAIN: the limit on processes (docker --pids-limit, RLIMIT_NPROC), ENOMEM
        os.close(read)
        os.close(write)
        return None
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        _child(read, write, run, work, parent)
    os.close(write)
    return pid, read


def _child(
    read: int, write: int, run: list[J], work: Callable[[list[J], bool], R], parent: int
) -> None:  # pragma: no cover - runs in the forked child
    """In the forked child: do ``run``, send the pickled result down ``write``, and end without cleanup."""
    code = 1
    try:
        die_with_parent(parent, signal.SIGKILL)
        os.close(read)
        data = memoryview(pickle.dumps(work(run, True), protocol=pickle.HIGHEST_PROTOCOL))
        while data:
            data = data[os.write(write, data) :]
        code = 0
    except BaseException:  # noqa: BLE001 - nothing may escape a forked child: it reports by its exit status
        pass
    finally:
        os._exit(code)


def _collect(pid: int, read: int) -> Any:
    """A child's result (read to the end, then the child reaped), or :class:`WorkerLost`."""
    chunks = []
    try:
        while chunk := os.read(read, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(read)
        _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return WorkerLost(f"copy process {pid} was killed by signal {os.WTERMSIG(status)}")
    if os.waitstatus_to_exitcode(status) != 0:
        return WorkerLost(f"copy process {pid} failed (exit status {os.waitstatus_to_exitcode(status)})")
    try:
        return pickle.loads(b"".join(chunks))
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a lost result
        return WorkerLost(f"copy process {pid} sent an unreadable result ({exc.__class__.__name__})")
