"""The container-start environment contract: entries, lists, close times, round trips."""

from __future__ import annotations

import pytest

from ipynb_tools.environ import (
    EnvironmentContractError,
    StartEnvironment,
    VolumeEntry,
    parse_close_times,
    parse_entries,
)

FULL = "lms_vol_abc_98_el.mml.tuis.ac.jp"


@pytest.mark.parametrize(
    ("access", "teacher_only", "link"),
    [("課題", False, "課題"), ("-課題", True, "課題"), (".", False, FULL), ("-.", True, FULL)],
)
def test_entry_link_rules(access: str, teacher_only: bool, link: str) -> None:
    entry = VolumeEntry.parse(f".volumes/{FULL}:{access}")
    assert (entry.full_name, entry.access) == (FULL, access)
    assert entry.teacher_only is teacher_only and entry.link_name == link
    assert VolumeEntry.parse(entry.format()) == entry


@pytest.mark.parametrize("bad", ["nocolon", ":x", ".volumes/a/b:x", ".volumes/..:x", ".volumes/v:a/b"])
def test_bad_entries(bad: str) -> None:
    with pytest.raises(EnvironmentContractError):
        VolumeEntry.parse(bad)


def test_environment_round_trip() -> None:
    env = StartEnvironment(
        user="alice",
        uid=1001,
        gid=100,
        teacher=False,
        umask=0o037,
        tasks=parse_entries(f".volumes/{FULL}:-課題"),
        submits=parse_entries(".volumes/lms_sub_abc_98_h:提出"),
        personals=[],
        actlimit=3600,
        submit_close={"lms_sub_abc_98_h": 1700000000},
    )
    variables = env.to_environ()
    assert variables["NB_TEACHER"] == "" and variables["NB_UMASK"] == "0037"
    again = StartEnvironment.from_environ(variables)
    assert again == StartEnvironment(**{**env.__dict__, "works_dir": env.works})


def test_teacher_only_when_nb_teacher_is_the_user() -> None:
    base = {"NB_USER": "tom", "NB_UID": "1000", "NB_GID": "100"}
    assert StartEnvironment.from_environ({**base, "NB_TEACHER": "tom"}).teacher
    assert StartEnvironment.from_environ({**base, "NB_TEACHER": "tom"}).umask == 0o033
    assert not StartEnvironment.from_environ({**base, "NB_TEACHER": "someone"}).teacher
    with pytest.raises(EnvironmentContractError, match="NB_UID"):
        StartEnvironment.from_environ({**base, "NB_UID": "x"})


def test_close_times() -> None:
    assert parse_close_times("a=1 b=2.5") == {"a": 1, "b": 2}
    with pytest.raises(EnvironmentContractError):
        parse_close_times("a=never")


def test_nb_group_round_trips_and_must_be_a_usable_group_name() -> None:
    """NB_GROUP (SPEC 12) names a group in the container's /etc/group: no ':' or line breaks."""
    env = StartEnvironment(user="alice", uid=30031, gid=2024, group="g2024")
    assert env.to_environ()["NB_GROUP"] == "g2024"
    assert StartEnvironment.from_environ(env.to_environ()).group == "g2024"
    assert "NB_GROUP" not in StartEnvironment(user="alice", uid=1, gid=1).to_environ()
    for bad in ("a:b", "x\ny", "../g"):
        with pytest.raises(EnvironmentContractError, match="NB_GROUP"):
            StartEnvironment.from_environ({"NB_USER": "alice", "NB_GROUP": bad})
