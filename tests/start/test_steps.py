"""The orchestrator's declared steps are the docstring's list; the task-copy pairing is one function."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import ipynb_tools.start as start
from ipynb_tools.environ import StartEnvironment, VolumeEntry
from ipynb_tools.start import STEPS, task_copies
from tests.requirements import require_root

HOST = "h.example"


def test_declared_steps_match_the_docstring_one_to_one() -> None:
    listed = re.findall(r"^\s*(\d+)\. ``([a-z-]+)``", start.__doc__ or "", re.M)
    assert [int(n) for n, _ in listed] == list(range(1, len(listed) + 1))
    assert [name for _, name in listed] == [step.name for step in STEPS]


def test_task_copies_pair_personal_directories_with_mounted_task_volumes() -> None:
    env = StartEnvironment(
        "alice",
        1000,
        100,
        tasks=[VolumeEntry(f"lms_vol_a_98_{HOST}", "課題")],
        personals=[VolumeEntry(f"lms_prs_a_98_{HOST}", "作業"), VolumeEntry(f"lms_prs_b_98_{HOST}", "other")],
        home_dir=Path("/srv/h/alice"),
    )
    first, second = task_copies(env)
    volumes = Path("/srv/h/alice/jupyter/works/.volumes")
    assert (first.task, first.source, first.dest) == (
        f"lms_vol_a_98_{HOST}",
        volumes / f"lms_vol_a_98_{HOST}",
        volumes / f"lms_prs_a_98_{HOST}",
    )
    assert second.task is None and second.source is None and second.task_name == f"lms_vol_b_98_{HOST}"
    assert [c.personal.access for c in task_copies(env, env.personals[1:])] == ["other"]


@pytest.mark.parametrize(("uid", "gid", "thr"), [(0, 100, 7000), (1, 100, 7000), (1000, 0, 7000), (1000, 100, 27)])
def test_root_never_drops_to_a_system_id(uid: int, gid: int, thr: int) -> None:
    """run_as as root (setup's sync child, ``ipynb-tools sync`` as root) refuses ids setup refuses, before forking."""
    from ipynb_tools.start import run_as
    from ipynb_tools.start.validate import SetupEnvironmentError

    require_root("run_as only drops privileges as root")
    env = StartEnvironment(user="alice", uid=uid, gid=gid, teachers_gid=thr)
    ran: list[bool] = []
    with pytest.raises(SetupEnvironmentError, match="refusing to run as the user"):
        run_as(env, lambda emit: ran.append(True) or True)
    assert ran == []
