"""Copy processes: how a placement run is split, how many processes, forking and losing one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ipynb_tools.sync import workers
from ipynb_tools.sync.workers import WorkerLost, cgroup_quota, run_split, split, workers_for

MB = 1 << 20


def jobs(*dirs: tuple[str, int, int]) -> list[tuple[str, int]]:
    """(directory, files, bytes each) -> [(relative path, bytes)], in that order."""
    return [(f"{d}/f{i:03}", size) for d, count, size in dirs for i in range(count)]


def cut(runs: list[list[tuple[str, int]]]) -> list[list[str]]:
    """The directories of each run, in order (a directory appears in one run only)."""
    return [list(dict.fromkeys(rel.rpartition("/")[0] for rel, _ in run)) for run in runs]


def by_size(job: tuple[str, int]) -> int:
    return job[1]


def by_dir(job: tuple[str, int]) -> str:
    return job[0].rpartition("/")[0]


def test_a_small_run_is_not_split():
    small = jobs(("a", 60, 100_000), ("b", 60, 100_000))  # 120 files, 12 MB: below both thresholds
    assert split(small, 4, by_size, by_dir) == [small]
    big = jobs(("a", 70, 1000), ("b", 70, 1000))  # 140 files
    assert len(split(big, 2, by_size, by_dir)) == 2
    assert split(big, 1, by_size, by_dir) == [big]


def test_runs_are_balanced_by_work_in_order_and_never_cut_a_directory():
    tree = jobs(*((f"w{i:02}", 20, 100_000) for i in range(10)))  # 200 files of 100 kB in 10 directories
    runs = split(tree, 2, by_size, by_dir)
    assert [job for run in runs for job in run] == tree  # every job once, in order
    assert cut(runs) == [[f"w{i:02}" for i in range(5)], [f"w{i:02}" for i in range(5, 10)]]
    # one directory of big files and many of small ones: the big one is a run of its own
    lopsided = jobs(("big", 4, 50 * MB), *((f"s{i}", 30, 1000) for i in range(6)))
    runs = split(lopsided, 2, by_size, by_dir)
    assert cut(runs) == [["big"], [f"s{i}" for i in range(6)]]
    # never more runs than workers, never an empty one
    runs = split(jobs(*((f"d{i:02}", 10, 10 * MB) for i in range(20))), 3, by_size, by_dir)
    assert len(runs) == 3 and all(runs)
    # one directory only: it cannot be cut, so one run
    assert len(split(jobs(("only", 500, MB)), 4, by_size, by_dir)) == 1


def test_a_directory_whose_jobs_are_not_together_is_still_one_runs():
    """A walk lists a directory's files around its sub-directories' (``a/b``, ``a/c/...``, ``a/d``): the
    directory still goes to one run, or two processes would each report the moves made for it."""
    walk = [("a/f000", MB), *jobs(("a/c", 200, 1000)), ("a/f001", MB), *jobs(("e", 200, 1000))]
    runs = split(walk, 2, by_size, by_dir)
    assert len(runs) == 2
    assert sorted(job for run in runs for job in run) == sorted(walk)
    owners = {d: [n for n, run in enumerate(runs) if any(by_dir(job) == d for job in run)] for d in ("a", "a/c", "e")}
    assert all(len(found) == 1 for found in owners.values()), owners
    assert runs[0][:2] == [("a/f000", MB), ("a/f001", MB)]  # in their order, first as the group's first job was


def test_the_quota_of_a_cgroup_limits_the_processes(tmp_path):
    """``docker run --cpus 1.5`` is a CFS quota (cgroup v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``)."""
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cpu.max").write_text("150000 100000\n")
    assert cgroup_quota(str(v2)) == 1.5
    (v2 / "cpu.max").write_text("max 100000\n")
    assert cgroup_quota(str(v2)) is None
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_quota(str(v1)) is None
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("50000\n")
    assert cgroup_quota(str(v1)) == 0.5
    assert cgroup_quota(str(tmp_path / "none")) is None


def test_a_second_process_only_where_a_cpu_is_idle():
    assert workers_for(2, 0.2) == 2
    assert workers_for(2, 1.0) == 2  # one busy: this sync's own process takes the other
    assert workers_for(2, 1.5) == 1
    assert workers_for(2, 30.0) == 1  # a lecture's start: every server syncing at once
    assert workers_for(1, 0.0) == 1
    assert workers_for(16, 2.0) == workers.MAX_WORKERS
    assert workers_for(16, 13.5) == 3


def test_one_cpu_means_one_process():
    """A process allowed one CPU (its affinity) copies alone; otherwise the CPUs it may use and the load decide."""
    code = (
        "import os; os.sched_setaffinity(0, {0}); "
        "from ipynb_tools.sync import default_workers; print(default_workers())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "1"
    cpus = len(os.sched_getaffinity(0))
    quota = cgroup_quota()
    if quota is not None:
        cpus = min(cpus, max(1, int(-(-quota // 1))))
    assert workers.available_cpus() == cpus
    assert 1 <= workers.default_workers() <= min(cpus, workers.MAX_WORKERS)


def _square_or_die(run: list[int], in_child: bool) -> list[tuple[int, int, bool]]:
    if in_child and -1 in run:
        os.kill(os.getpid(), signal.SIGKILL)  # a copy process killed (the OOM killer, an admin)
    if in_child and -2 in run:
        raise RuntimeError("a bug in a child")
    return [(n, n * n, in_child) for n in run]


def test_the_first_run_is_done_here_the_others_in_children_in_order():
    results = run_split([[1, 2], [3], [4, 5]], _square_or_die)
    assert results == [
        [(1, 1, False), (2, 4, False)],
        [(3, 9, True)],
        [(4, 16, True), (5, 25, True)],
    ]


def test_a_child_killed_or_failing_is_a_lost_run_and_the_others_arrive():
    before = _children()
    results = run_split([[1], [-1, 2], [3], [-2]], _square_or_die)
    assert results[0] == [(1, 1, False)]
    assert isinstance(results[1], WorkerLost) and "killed by signal 9" in str(results[1])
    assert results[2] == [(3, 9, True)]
    assert isinstance(results[3], WorkerLost) and "exit status 1" in str(results[3])
    # every child was reaped: none left, running or as a zombie (the test process has children of its
    # own in a full run: the servers its fixtures started)
    assert _children() == before


def _children() -> set[int]:
    """The pids of this process's children, from /proc (running or zombies, not yet reaped)."""
    me, found = os.getpid(), set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_bytes().rpartition(b")")[2].split()
            except OSError:
                continue  # ended meanwhile
            if int(fields[1]) == me:
                found.add(int(entry))
    return found


_ORPHAN = """
import os, sys, time
from ipynb_tools.sync.workers import run_split

def work(run, in_child):
    if in_child:
        with open(sys.argv[1], "w") as f:
            f.write(str(os.getpid()))
        time.sleep(60)
    else:
        time.sleep(60)
    return run

run_split([[1], [2]], work)
"""


def test_a_copy_process_dies_with_the_sync(tmp_path):
    """A sync killed while its copy processes work (setup's timeout, an admin) leaves none writing on."""
    pid_file = tmp_path / "child.pid"
    sync = subprocess.Popen([sys.executable, "-c", _ORPHAN, str(pid_file)])
    deadline = time.monotonic() + 30
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.01)
    child = int(pid_file.read_text())
    sync.kill()
    sync.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{child}/stat").read_bytes().rpartition(b")")[2].split()[0]
        except FileNotFoundError:
            break
        if state == b"Z":
            break  # dead, waiting for its new parent to reap it
        time.sleep(0.01)
    else:
        pytest.fail(f"copy process {child} outlived the sync")


def test_runs_whose_child_cannot_be_forked_are_done_here(monkeypatch):
    forks = iter([OSError(11, "Resource temporarily unavailable"), None])
    real_fork = os.fork

    def fork_once_refused():
        refusal = next(forks, None)
        if refusal is not None:
            raise refusal
        return real_fork()

    monkeypatch.setattr(workers.os, "fork", fork_once_refused)
    results = run_split([[1], [2], [3]], _square_or_die)
    assert results == [[(1, 1, False)], [(2, 4, False)], [(3, 9, True)]]  # run 2 here, run 3 in a child


def _pids_cgroup(tmp_name: str) -> Path | None:
    """A new pids cgroup (v1 ``/sys/fs/cgroup/pids`` or v2 ``/sys/fs/cgroup``) allowing one process, or None."""
    for base, needs_controller in ((Path("/sys/fs/cgroup/pids"), False), (Path("/sys/fs/cgroup"), True)):
        if not (base / "cgroup.procs").exists() or (not needs_controller and not base.is_dir()):
            continue
        if needs_controller:
            controllers = base / "cgroup.controllers"
            if not controllers.exists() or "pids" not in controllers.read_text().split():
                continue
            try:
                (base / "cgroup.subtree_control").write_text("+pids")
            except OSError:
                continue
        group = base / tmp_name
        try:
            group.mkdir()
            (group / "pids.max").write_text("1")
        except OSError:
            continue
        return group
    return None


_ONE_PROCESS_SYNC = """
import sys
from ipynb_tools.sync import sync_tree, workers
workers.SPLIT_MIN_FILES = 2
report = sync_tree(sys.argv[1], sys.argv[2], workers=3)
print(report.summary())
sys.exit(0 if report.ok else 1)
"""


def test_a_sync_in_a_container_that_may_not_fork_copies_everything_itself(tmp_path):
    """``docker run --pids-limit``: the limit is reached (here: one process allowed, the sync itself)
    and every fork fails with EAGAIN; the runs meant for copy processes are copied by the sync."""
    from tests.requirements import require_root, unavailable

    require_root("a pids cgroup is made for the sync")
    group = _pids_cgroup(f"ipynb-tools-test-{os.getpid()}")
    if group is None:
        unavailable("no pids cgroup controller to limit the sync's processes")
    task, personal = tmp_path / "task", tmp_path / "personal"
    personal.mkdir()
    for w in range(4):
        for i in range(5):
            (task / f"w{w}").mkdir(parents=True, exist_ok=True)
            (task / f"w{w}" / f"f{i}").write_text(f"{w} {i}\n")

    def enter_group() -> None:
        (group / "cgroup.procs").write_text(str(os.getpid()))

    try:
        done = subprocess.run(
            [sys.executable, "-c", _ONE_PROCESS_SYNC, str(task), str(personal)],
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=enter_group,
        )
    finally:
        group.rmdir()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "copied 20" in done.stdout and "failed" not in done.stdout
    assert all((personal / f"w{w}" / f"f{i}").read_text() == f"{w} {i}\n" for w in range(4) for i in range(5))
