"""Every validation finding: severity, line, key."""

from __future__ import annotations

import pytest

from ipynb_tools.params.findings import Finding, has_errors
from ipynb_tools.params.model import Params, VolumeParam
from ipynb_tools.params.validate import validate

NOW = 1_800_000_000
BASE = "lms_users=*\nlms_teachers=t\n"


def find(text: str, needle: str) -> list[Finding]:
    return [f for f in validate(BASE + text, now=NOW) if needle in f.message]


def only(text: str, needle: str) -> Finding:
    found = find(text, needle)
    assert len(found) == 1, validate(BASE + text, now=NOW)
    return found[0]


@pytest.mark.parametrize(
    "text, needle, severity, line",
    [
        ("lms_userz=a", "unknown key", "warning", 3),
        ("lms_vol_A-b=x", "may only have a-z and 0-9; read as 'ab'", "warning", 3),
        ("lms_vol_表示名=x", "no letters a-z or digits", "error", 3),
        ("lms_vol_a=x\nlms_vol_a=y", "is given 2 times", "warning", 4),
        ("lms_vol_a=x\nlms_vol_A=y", "is given 2 times", "warning", 4),
        ("lms_memlimit=100M", "under 200 MB", "warning", 3),
        ("lms_memlimit=1M", "below the engine minimum", "error", 3),
        ("lms_cpulimit=-1", "negative", "error", 3),
        ("lms_cpulimit=0.01", "below 0.1", "warning", 3),
        ("lms_cpulimit=500", "over 64 CPUs", "warning", 3),
        ("lms_cpulimit=fast", "not a number", "error", 3),
        ("lms_memlimit=big", "not a number of bytes", "error", 3),
        ("lms_actlimit=soon", "not a number of seconds", "error", 3),
        ("lms_iframe=maybe", "is not 1 or 0", "error", 3),
        ("lms_prs_a=x", "has no task volume lms_vol_a", "info", 3),
        ("lms_sub_a=-提出", "not a teacher-only marker", "warning", 3),
        ("lms_vol_a=-", "leaves no usable link name", "error", 3),
        ("lms_vol_a=..", "leaves no usable link name", "error", 3),
        ("lms_vol_a=--x", "leaves no usable link name", "error", 3),
        ("lms_sub_a=x\nlms_sub_a_close=1000", "in the past", "warning", 4),
        ("lms_sub_b_close=1900000000", "which is not defined", "warning", 3),
        ("lms_sub_a_close=tomorrow", "neither a unix time", "error", 3),
        ("lms_image=a;b", "removed forbidden characters", "warning", 3),
        ("lms_vol_a=x/y", "removed '/'", "warning", 3),
        ("lms_vol_a=x y", "became '_'", "warning", 3),
        ("lms_vol_a=", "no access name: the entry is removed", "info", 3),
        ("lms_defurl=/hub", "neither /lab nor /tree", "warning", 3),
        ("lms_sessioninfo=12", "is not '<instance id>,<lti id>'", "warning", 3),
        ("lms_users=b", "given again", "warning", 3),
        ("lms_image", "has no '='", "warning", 3),
        ("just text", "not a key=value line", "info", 3),
    ],
)
def test_finding(text, needle, severity, line):
    finding = only(text, needle)
    assert (finding.severity, finding.line) == (severity, line)


def test_users_listed_in_a_volume_but_not_in_lms_users():
    text = "lms_users=a\nlms_teachers=t\nlms_vol_x=課題:a,b,t,*"
    found = [f for f in validate(text, now=NOW) if "not in lms_users" in f.message]
    assert len(found) == 1 and found[0].line == 3 and found[0].key == "lms_vol_x"
    assert "b" in found[0].message and ": a," not in found[0].message and ", t" not in found[0].message
    # with lms_users=* nobody is a stranger
    assert not find("lms_vol_x=課題:b", "not in lms_users")


def test_teacher_star_empty_users_and_empty_teachers():
    assert [
        f.severity
        for f in validate("lms_users=\nlms_teachers=*\nlms_vol_a=x", now=NOW)
        if "everyone is a teacher" in f.message
    ] == ["warning"]
    assert [
        f.severity
        for f in validate("lms_users=\nlms_teachers=t\nlms_vol_a=x", now=NOW)
        if "lms_users is empty" in f.message
    ] == ["info"]
    assert [f.severity for f in validate("lms_users=*\nlms_vol_a=x", now=NOW) if "nobody can write" in f.message] == [
        "warning"
    ]


def test_future_closing_time_is_fine_and_validation_of_a_model():
    text = BASE + "lms_sub_a=提出\nlms_sub_a_close=1900000000\n"
    assert validate(text, now=NOW) == []
    params = Params(users=("*",), teachers=("t",), volumes=[VolumeParam("sub", "a", "x")], closes={"a": 5})
    (finding,) = validate(params, now=NOW)
    assert finding.line is None and "in the past" in finding.message


def test_clean_text_has_no_findings_and_errors_are_detected():
    assert validate(BASE + "lms_vol_a=課題\nlms_memlimit=1G\nlms_cpulimit=1.0\nlms_defurl=/lab\n", now=NOW) == []
    assert has_errors(validate(BASE + "lms_memlimit=x", now=NOW))
    assert not has_errors(validate(BASE + "lms_memlimit=100M", now=NOW))


def test_findings_are_sorted_by_line_and_format():
    findings = validate(BASE + "lms_image=a;\nlms_vol_x=\nlms_zzz=1", now=NOW)
    assert [f.line for f in findings] == [3, 4, 5]
    assert findings[0].format("c.txt").startswith("c.txt:3: warning: ")
    with pytest.raises(ValueError):
        Finding("fatal", None, None, "x")


def test_user_lists_warn_about_names_that_can_never_match():
    """Issue 12, item 15: upper case matches (a note); full-width or impossible names never do (a warning)."""
    text = "lms_users=S2024001,Ｓ２０２４００２,../../etc,s2024001\nlms_teachers=Iseki\nlms_vol_a=x:TA1,a:b\n"
    findings = {(f.severity, f.line, f.message) for f in validate(text, now=NOW)}
    assert ("info", 1, "lms_users: 'S2024001' is read as 's2024001' (JupyterHub user names are lower case)") in findings
    assert (
        "warning",
        1,
        (
            "lms_users: 'Ｓ２０２４００２' has full-width characters and can never match a Moodle login; "
            "did you mean 's2024002'?"
        ),
    ) in findings
    assert ("warning", 1, "lms_users: '../../etc' contains '/': it can never match a user") in findings
    assert ("info", 1, "lms_users lists 's2024001' 2 times") in findings  # S2024001 and s2024001 are one user
    assert ("info", 2, "lms_teachers: 'Iseki' is read as 'iseki' (JupyterHub user names are lower case)") in findings
    # the per-volume list: 'a:b' cannot be a name (the value is split at the first ':' only)
    assert any(f[0] == "warning" and "lms_vol_a" in f[2] and "'a:b'" in f[2] for f in findings)
    # TA1 is not a stranger: compared as the hub compares names, nobody is missing from lms_users
    assert not any(
        "not in lms_users" in f.message for f in validate("lms_users=ta1\nlms_teachers=t\nlms_vol_a=x:TA1\n")
    )
