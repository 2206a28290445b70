"""Access rules (SPEC 4): the mount table, links, closing times."""

from __future__ import annotations

import time

import pytest

from ipynb_tools.environ import is_past_close
from ipynb_tools.params.rules import Mount, is_teacher, mounts
from ipynb_tools.params.text import parse
from ipynb_tools.volumes.naming import VolumeNameError

# users: a (in lms_users), b (listed in the volume only), t (teacher), z (nobody)
# per-volume list         lms_users  who mounts
TABLE = [
    ("", "a", {"a", "t"}),  # no list: lms_users + teachers
    ("", "*", {"a", "b", "t", "z"}),  # no list, lms_users=*: everyone
    ("", "", {"t"}),  # no list, lms_users empty: teachers only
    (":b", "a", {"b"}),  # list: only listed users, teachers NOT added
    (":b,t", "a", {"b", "t"}),  # a teacher mounts when listed
    (":*", "", {"a", "b", "t", "z"}),  # '*' in the list: everyone
    (":", "a", {"a", "t"}),  # empty list = no list
    (":b", "*", {"b"}),  # lms_users=* does not override a list
]


@pytest.mark.parametrize("volume_users, lms_users, expected", TABLE)
@pytest.mark.parametrize("kind", ["vol", "sub", "prs"])
def test_who_mounts(kind, volume_users, lms_users, expected):
    params = parse(f"lms_users={lms_users}\nlms_teachers=t\nlms_{kind}_x=acc{volume_users}")
    got = {user for user in "abtz" if mounts(params, user, teacher=is_teacher(params, user))}
    assert got == expected


def test_teacher_role_comes_from_the_caller_not_only_the_list():
    params = parse("lms_users=\nlms_teachers=t\nlms_vol_x=acc")
    assert mounts(params, "other", teacher=True)  # an LTI instructor not listed in lms_teachers
    assert not mounts(params, "t", teacher=False)
    assert is_teacher(params, "t") and not is_teacher(params, "a")
    assert is_teacher(parse("lms_teachers=*"), "anyone")


LINKS = [
    # kind, access, link for a student, link for a teacher
    ("vol", "課題", "課題", "課題"),
    ("vol", "-教材", None, "教材"),
    ("prs", "-作業", None, "作業"),
    ("sub", "-提出", "提出", "提出"),  # '-' is not a marker on submit volumes
    ("vol", ".", "lms_vol_x_98_lms.example.jp", "lms_vol_x_98_lms.example.jp"),
    ("prs", "-.", None, "lms_prs_x_98_lms.example.jp"),
    ("vol", "-", None, None),
    ("vol", "..", None, None),
    ("vol", "--x", None, None),
]


@pytest.mark.parametrize("kind, access, student, teacher", LINKS)
def test_links(kind, access, student, teacher):
    params = parse(f"lms_users=*\nlms_teachers=t\nlms_{kind}_x={access}")
    (s,) = mounts(params, "s", teacher=False, course="98", host="lms.example.jp")
    (t,) = mounts(params, "t", teacher=True, course="98", host="lms.example.jp")
    assert (s.link, t.link) == (student, teacher)
    assert s.full_name == f"lms_{kind}_x_98_lms.example.jp"
    assert s.access == access


def test_without_course_and_host_there_is_no_full_name():
    params = parse("lms_users=*\nlms_vol_x=.\nlms_sub_x=提出")
    result = mounts(params, "s", teacher=False)
    assert [(m.full_name, m.link) for m in result] == [(None, "."), (None, "提出")]


def test_bad_course_is_the_naming_modules_error():
    with pytest.raises(VolumeNameError):
        mounts(parse("lms_users=*\nlms_vol_x=a"), "s", teacher=False, course="9 8", host="h")


def test_closing_times():
    params = parse("lms_users=*\nlms_sub_x=提出\nlms_sub_x_close=1000\nlms_sub_y=出す\nlms_vol_x=課題")

    def state(at):
        return [(m.kind, m.name, m.closed, m.close_time) for m in mounts(params, "s", teacher=False, at=at)]

    assert state(999) == [("sub", "x", False, 1000), ("sub", "y", False, None), ("vol", "x", False, None)]
    assert state(1000) == state(999)  # the closing second is still open
    assert state(1001)[0] == ("sub", "x", True, 1000)
    closes = params.closes
    assert is_past_close(closes.get("x"), 1001) and not is_past_close(closes.get("x"), 1000)
    assert not is_past_close(closes.get("y"), 10**12)
    assert is_past_close(closes.get("x"), time.time())  # now (long after 1970)


def test_last_entry_wins_and_order_is_kept():
    params = parse("lms_users=*\nlms_prs_b=p\nlms_vol_a=one\nlms_vol_a=two")
    assert [(m.kind, m.name, m.access) for m in mounts(params, "s", teacher=False)] == [
        ("prs", "b", "p"),
        ("vol", "a", "two"),
    ]


def test_mount_to_dict():
    m = Mount("vol", "a", "-x", None, None, False, None)
    assert m.to_dict() == {
        "kind": "vol",
        "name": "a",
        "access": "-x",
        "link": None,
        "full_name": None,
        "closed": False,
        "close_time": None,
        "withheld": False,
    }


def test_a_closed_submit_volume_is_withheld_from_students_only():
    """Issue 16 item 1 / SPEC 12: after the close the old spawner did not mount it for students."""
    params = parse("lms_users=*\nlms_teachers=t\nlms_sub_a=x\nlms_sub_a_close=100\nlms_vol_a=y\n")
    (sub, vol) = mounts(params, "s", teacher=False, at=101)
    assert sub.closed and sub.withheld and not vol.withheld
    (sub, _) = mounts(params, "t", teacher=True, at=101)
    assert sub.closed and not sub.withheld
    (sub, _) = mounts(params, "s", teacher=False, at=100)  # the closing second is still open
    assert not sub.closed and not sub.withheld
