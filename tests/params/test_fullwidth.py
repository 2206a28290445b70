"""Full-width separators typed with the Japanese input method on (issue 12, item 14): read as the
ASCII ones when that only narrows access, otherwise reported; a typo never widens who gets access."""

from __future__ import annotations

import itertools

import pytest
from click.testing import CliRunner

from ipynb_tools.cli.main import cli
from ipynb_tools.launch import LTI13_CUSTOM_CLAIM, from_lti11, from_lti13
from ipynb_tools.params.edit import set_param
from ipynb_tools.params.rules import mounts
from ipynb_tools.params.text import format_params, parse
from ipynb_tools.params.validate import validate

NOW = 1_800_000_000
BASE = "lms_users=*\r\nlms_teachers=iseki\r\n"
PEOPLE = ["s1", "s2", "ta1", "ta2", "iseki"]


def who_mounts(text: str) -> dict[str, set[str]]:
    """volume key -> the users (students, and the teacher as teacher) who mount it."""
    params = parse(text)
    result: dict[str, set[str]] = {}
    for user in PEOPLE:
        for m in mounts(params, user, teacher=user == "iseki", at=NOW):
            result.setdefault(f"{m.kind}_{m.name}", set()).add(user)
    return result


def links(text: str, user: str, teacher: bool) -> dict[str, str | None]:
    return {m.name: m.link for m in mounts(parse(text), user, teacher=teacher, at=NOW)}


def test_the_issue_example_gives_the_ta_volume_to_the_tas_only():
    text = BASE + "lms_vol_answers=解答：ta1,ta2\r\n"
    assert who_mounts(text)["vol_answers"] == {"ta1", "ta2"}
    (finding,) = [f for f in validate(text, now=NOW) if f.key == "lms_vol_answers"]
    assert finding.severity == "warning" and finding.line == 3 and "'：' is read as ':'" in finding.message
    assert parse(text).volume("vol", "answers").access == "解答"
    # canonical text says it with the ASCII colon, and reads back the same
    assert "lms_vol_answers=解答:ta1,ta2\r\n" in format_params(parse(text))


def test_launches_read_it_the_same_way():
    value = "解答：ta1,ta2"
    for params in (
        from_lti11({"custom_lms_users": "*", "custom_lms_vol_answers": value}),
        from_lti13({LTI13_CUSTOM_CLAIM: {"lms_users": "*", "lms_vol_answers": value}}),
    ):
        assert [m.name for m in mounts(params, "s1", teacher=False)] == []
        assert [m.name for m in mounts(params, "ta1", teacher=False)] == ["answers"]


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("lms_vol_a=解答：ta1", "lms_vol_a=解答:ta1"),  # full-width colon
        ("lms_vol_a=解答:ta1，ta2", "lms_vol_a=解答:ta1,ta2"),  # full-width comma
        ("lms_vol_a=解答:ta1、ta2", "lms_vol_a=解答:ta1,ta2"),  # ideographic comma
        ("lms_vol_a=解答:ta1\u3000ta2", "lms_vol_a=解答:ta1,ta2"),  # ideographic space
        ("lms_vol_a=解答：ta1、ta2", "lms_vol_a=解答:ta1,ta2"),
        ("lms_users=s1，s2", "lms_users=s1,s2"),
        ("lms_users=s1\u3000s2", "lms_users=s1,s2"),
        ("lms_sub_a=提出：s1", "lms_sub_a=提出:s1"),
        ("lms_prs_a=個人：s2", "lms_prs_a=個人:s2"),
    ],
)
def test_full_width_separators_mean_the_ascii_ones(typed, meant):
    text = "lms_teachers=iseki\r\n" + typed + "\r\n"
    intended = "lms_teachers=iseki\r\n" + meant + "\r\n"
    assert who_mounts(text) == who_mounts(intended)
    assert not any(f.severity == "error" for f in validate(text, now=NOW))


def test_a_full_width_hyphen_keeps_the_link_for_teachers():
    text = BASE + "lms_vol_a=－教材\r\n"
    assert links(text, "s1", teacher=False) == {"a": None}
    assert links(text, "iseki", teacher=True) == {"a": "教材"}
    assert any("'－'" in f.message and f.severity == "warning" for f in validate(text, now=NOW))


def test_a_full_width_equals_sign_is_an_error_the_line_reaches_nobody():
    """Moodle splits at '=' only: the line is dropped before any launch; check says so (exit 1)."""
    text = BASE + "lms_vol_a＝解答:ta1\r\nlms_users＝s1\r\n"
    errors = [f for f in validate(text, now=NOW) if f.severity == "error"]
    assert [f.line for f in errors] == [3, 4] and all("'＝'" in f.message for f in errors)
    assert who_mounts(text) == {}
    result = CliRunner().invoke(cli, ["params", "check", "-", "--column-size", "100000"], input=text)
    assert result.exit_code == 1 and "'＝' is not '='" in result.output


def test_a_full_width_key_and_a_full_width_star_are_reported_and_give_nothing():
    text = "ｌｍｓ_users=*\r\nlms_users=＊\r\nlms_teachers=iseki\r\nlms_vol_a=教材\r\n"
    messages = [f.message for f in validate(text, now=NOW) if f.severity == "warning"]
    assert any("'ｌｍｓ_users' has full-width characters" in m for m in messages)
    assert any("'＊' has full-width characters" in m and "did you mean '*'" in m for m in messages)
    assert who_mounts(text) == {"vol_a": {"iseki"}}  # only the teacher: nobody else was meant by a typo


def test_editing_writes_the_ascii_form():
    text, findings = set_param(BASE, "lms_vol_answers", "解答：ta1,ta2")
    assert "lms_vol_answers=解答:ta1,ta2" in text and any("'：'" in f.message for f in findings)


ASCII_TEXTS = [
    "lms_users=s1,s2\r\nlms_teachers=iseki\r\nlms_vol_a=-教材:ta1,ta2\r\nlms_sub_b=提出:s1,ta1\r\n",
    "lms_users=*\r\nlms_teachers=iseki\r\nlms_vol_answers=解答:ta1,ta2\r\nlms_prs_c=個人\r\n",
]
FULL_WIDTH = {":": "：", ",": "，", "=": "＝", "-": "－", "*": "＊", "_": "＿"}


@pytest.mark.parametrize("text", ASCII_TEXTS)
def test_no_full_width_typo_widens_access(text):
    """Replace any one ASCII separator by its full-width form: nobody mounts more, nobody links more."""
    intended = who_mounts(text)
    positions = [i for i, ch in enumerate(text) if ch in FULL_WIDTH]
    for count in (1, 2):
        for chosen in itertools.combinations(positions, count):
            typo = "".join(FULL_WIDTH[ch] if i in chosen else ch for i, ch in enumerate(text))
            got = who_mounts(typo)
            for key, users in got.items():
                assert users <= intended.get(key, set()), (typo, key, users)
            for user in PEOPLE:
                teacher = user == "iseki"
                wanted = links(text, user, teacher)
                for name, link in links(typo, user, teacher).items():
                    assert link is None or wanted.get(name) is not None, (typo, user, name, link)
