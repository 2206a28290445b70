"""Golden tests on the seed document's parameter texts (mod_lticontainer wiki, Japanese).

The seed lists the keys as a template (``lms_vol_表示名=`` ... with the
misspelt ``lms_sessionifo``), and walks through two teaching set-ups: task +
submit volumes, and task + personal + submit volumes, first while the teacher
prepares the material, then when it is published.
"""

from __future__ import annotations

from ipynb_tools.params.model import VolumeParam
from ipynb_tools.params.rules import mounts
from ipynb_tools.params.text import format_params, parse, parse_with_findings
from ipynb_tools.params.validate import validate

# The key list of the seed, verbatim ("カスタムパラメータ一覧").
SEED_TEMPLATE = "\r\n".join(
    [
        "lms_users=",
        "lms_teachers=",
        "lms_image=",
        "lms_defurl=",
        "lms_cpulimit=",
        "lms_memlimit=",
        "lms_vol_表示名=",
        "lms_prs_表示名=",
        "lms_sub_表示名=",
        "lms_prs_表示名=",
        "lms_sub_表示名_close=",
        "lms_sessionifo=",
        "lms_iframe=",
    ]
)


def test_seed_template_parses_and_reports_the_placeholders():
    params, findings = parse_with_findings(SEED_TEMPLATE, "seed")
    assert params.users == () and params.teachers == ()
    assert params.image == "" and params.defurl == ""
    assert params.cpulimit is None and params.memlimit is None and params.iframe is None
    assert params.volumes == []
    # NAME 表示名 ("display name") has no a-z0-9: errors, and the lines are kept, not lost
    assert [(f.severity, f.line) for f in findings if "NAME" in f.message] == [
        ("error", 7),
        ("error", 8),
        ("error", 9),
        ("error", 10),
        ("error", 11),
    ]
    typo = [f for f in findings if f.line == 12]
    assert typo and "did you mean lms_sessioninfo" in typo[0].message
    assert params.others == [
        "lms_vol_表示名=",
        "lms_prs_表示名=",
        "lms_sub_表示名=",
        "lms_prs_表示名=",
        "lms_sub_表示名_close=",
        "lms_sessionifo=",
    ]
    assert format_params(params) == (
        "lms_users=\r\nlms_teachers=\r\nlms_image=\r\nlms_defurl=\r\n"
        "lms_vol_表示名=\r\nlms_prs_表示名=\r\nlms_sub_表示名=\r\nlms_prs_表示名=\r\nlms_sub_表示名_close=\r\n"
        "lms_sessionifo=\r\n"
    )


# 課題作成 (preparing): users empty, the teacher alone, a task volume listing the teacher.
PREPARE = "lms_users=\r\nlms_teachers=iseki\r\nlms_image=jupyterhub-python\r\nlms_vol_kadai=課題:iseki\r\n"
# 課題公開 (publishing): users *, task and submit volumes without user lists.
PUBLISH = (
    "lms_users=*\r\nlms_teachers=iseki\r\nlms_image=jupyterhub-python\r\n"
    "lms_vol_kadai=課題\r\nlms_sub_kadai=課題1提出用\r\n"
)
# With personal volumes: the task volume's access name starts with '-', the personal volume has its NAME.
PREPARE_PRS = "lms_users=\r\nlms_teachers=iseki\r\nlms_image=jupyterhub-python\r\nlms_vol_kadai=-教材:iseki\r\n"
PUBLISH_PRS = (
    "lms_users=*\r\nlms_teachers=iseki\r\nlms_image=jupyterhub-python\r\n"
    "lms_vol_kadai=-教材\r\nlms_sub_kadai=課題1提出用\r\nlms_prs_kadai=作業\r\n"
)


def test_seed_set_ups_are_canonical_and_clean():
    for text in (PREPARE, PUBLISH, PREPARE_PRS, PUBLISH_PRS):
        assert format_params(parse(text)) == text
        assert not [f for f in validate(text) if f.severity in ("error", "warning")], text


def test_preparing_only_the_teacher_mounts():
    params = parse(PREPARE)
    assert [m.link for m in mounts(params, "iseki", teacher=True)] == ["課題"]
    assert mounts(params, "s1", teacher=False) == []


def test_publishing_everyone_mounts_task_and_submit():
    params = parse(PUBLISH)
    student = mounts(params, "s1", teacher=False, course="98", host="el.mml.tuis.ac.jp")
    assert [(m.kind, m.link, m.full_name) for m in student] == [
        ("vol", "課題", "lms_vol_kadai_98_el.mml.tuis.ac.jp"),
        ("sub", "課題1提出用", "lms_sub_kadai_98_el.mml.tuis.ac.jp"),
    ]


def test_personal_set_up_hides_the_task_link_from_students():
    params = parse(PUBLISH_PRS)
    assert params.volumes[0] == VolumeParam("vol", "kadai", "-教材")
    student = {m.kind: m.link for m in mounts(params, "s1", teacher=False)}
    teacher = {m.kind: m.link for m in mounts(params, "iseki", teacher=True)}
    assert student == {"vol": None, "sub": "課題1提出用", "prs": "作業"}
    assert teacher == {"vol": "教材", "sub": "課題1提出用", "prs": "作業"}


def test_seed_full_name_example():
    params = parse("lms_users=*\nlms_vol_xyz=.")
    (mount,) = mounts(params, "s1", teacher=False, course="98", host="el.mml.tuis.ac.jp")
    assert mount.full_name == mount.link == "lms_vol_xyz_98_el.mml.tuis.ac.jp"


def test_seed_spaced_volume_syntax():
    # the seed writes ``lms_vol_表示名=アクセス名: 許可ユーザ`` with a space after the colon
    params = parse("lms_vol_kadai=課題: iseki, tanaka")
    assert params.volumes == [VolumeParam("vol", "kadai", "課題", ("iseki", "tanaka"))]
