"""The one access-link rule, as the parameters, the contract entries and setup read it."""

from __future__ import annotations

import pytest

from ipynb_tools.environ import AccessName, StartEnvironment, VolumeEntry, access_link
from ipynb_tools.params.model import VolumeParam
from ipynb_tools.start import planned_links

FULL = {"vol": "lms_vol_x_98_h", "sub": "lms_sub_x_98_h", "prs": "lms_prs_x_98_h"}

RULES = [
    # kind, access, student's link, teacher's link
    ("vol", "課題", "課題", "課題"),
    ("vol", "-教材", None, "教材"),
    ("prs", "-作業", None, "作業"),
    ("sub", "-提出", "提出", "提出"),
    ("sub", "提出", "提出", "提出"),
    ("vol", ".", FULL["vol"], FULL["vol"]),
    ("prs", "-.", None, FULL["prs"]),
    ("sub", "-.", FULL["sub"], FULL["sub"]),
    ("vol", "", None, None),
    ("vol", "-", None, None),
    ("sub", "-", None, None),
    ("vol", "..", None, None),
    ("vol", "--x", None, None),
]


@pytest.mark.parametrize("kind, access, student, teacher", RULES)
def test_access_link_for_each_role(kind: str, access: str, student: str | None, teacher: str | None) -> None:
    full = FULL[kind]
    assert access_link(kind, access, teacher=False, full_name=full) == student
    assert access_link(kind, access, teacher=True, full_name=full) == teacher


@pytest.mark.parametrize("kind, access, student, teacher", RULES)
def test_params_entries_and_setup_agree(kind: str, access: str, student: str | None, teacher: str | None) -> None:
    full = FULL[kind]
    param = VolumeParam(kind, "x", access) if access and "/" not in access else None
    entry = VolumeEntry(full, access)
    if param is not None:
        assert param.teacher_only == entry.teacher_only == AccessName(kind, access).teacher_only
        assert param.link_name(full) == entry.link_name
    for is_teacher, want in ((False, student), (True, teacher)):
        lists = {"vol": "tasks", "sub": "submits", "prs": "personals"}
        env = StartEnvironment("u", 1000, 100, teacher=is_teacher, **{lists[kind]: [entry]})
        links, _notes = planned_links(env)
        assert sorted({link.name for link in links}) == ([want] if want else [])


def test_unusable_access_names_are_noted_but_hidden_teacher_links_are_not() -> None:
    env = StartEnvironment("u", 1000, 100, tasks=[VolumeEntry(FULL["vol"], "..")])
    assert planned_links(env)[1] and not AccessName("vol", "..").usable
    env = StartEnvironment("u", 1000, 100, tasks=[VolumeEntry(FULL["vol"], "-x")])
    assert planned_links(env) == ([], [])
    assert AccessName("vol", ".").usable and AccessName("sub", "-x").usable
