"""The compact text (``params format --compact``): shorter, and the same meaning for every user."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ipynb_tools.environ import is_past_close
from ipynb_tools.params.compact import compact, compact_text
from ipynb_tools.params.findings import ERROR
from ipynb_tools.params.model import Params
from ipynb_tools.params.rules import is_teacher, mounts
from ipynb_tools.params.storage import stored_length
from ipynb_tools.params.text import format_params, parse, parse_with_findings

from .profiles import PROFILE
from .test_storage import REALISTIC

COURSE, HOST = "98", "el.mml.tuis.ac.jp"


def meaning(params: Params, people: set[str]) -> dict[str, object]:
    """What the spawner and container start read: per user and role, mounts (links, full names,
    closing states) at a few times; and the image, limits and default URL."""
    per_user = {}
    for user in sorted(people):
        for role in (True, False, is_teacher(params, user)):
            for at in (0, 1_500_000_000, 2_000_000_000):
                per_user[(user, role, at)] = [
                    m.to_dict() for m in mounts(params, user, teacher=role, at=at, course=COURSE, host=HOST)
                ]
        per_user[(user, "teacher?")] = is_teacher(params, user)  # type: ignore[index]
    closes = {
        (name, at): is_past_close(params.closes.get(name), at) for name in params.closes for at in (0, 2_000_000_000)
    }
    return {
        "mounts": per_user,
        "closed": closes,
        "image": params.effective_image,
        "defurl": params.defurl or None,
        "cpulimit": params.cpulimit,
        "memlimit": params.memlimit,
        "actlimit": params.actlimit,
    }


def people_of(params: Params) -> set[str]:
    """Everybody the text names, and two it does not."""
    names = {"stranger", "s2024999"} | set(params.users) | set(params.teachers)
    for volume in params.volumes:
        names |= set(volume.users or ())
    return {n for n in names if n != "*"}


def assert_same_meaning(text: str) -> str:
    original = parse(text)
    short = compact(text)
    again, findings = parse_with_findings(short)
    errors = sum(f.severity == ERROR for f in findings)
    assert errors <= sum(f.severity == ERROR for f in parse_with_findings(text)[1])
    people = people_of(original) | people_of(again)
    assert meaning(again, people) == meaning(original, people)
    assert again.others == [line for line in original.others if line.partition("=")[2].strip() or not _old(line)]
    assert {k: again.fixed_value(k) for k in AUTO} == {k: original.fixed_value(k) for k in AUTO}
    return short


AUTO = ("lms_sessioninfo", "lms_course", "lms_ltiname", "lms_rpctoken", "lms_serverurl", "lms_serverpath")


def _old(line: str) -> bool:
    return line.partition("=")[0].strip().lower() in ("lms_userid", "lms_grpid", "lms_grpname")


# -- examples -----------------------------------------------------------------------------


def test_realistic_example():
    short = assert_same_meaning(REALISTIC)
    assert "lms_teachers=iseki,tanaka,suzuki\r\n" in short
    assert "lms_memlimit=1073741824\r\n" in short
    assert not short.endswith("\r\n")
    assert stored_length(short).size == stored_length(REALISTIC).size - 5


def test_defaults_and_empty_optional_keys_are_left_out():
    text = (
        "lms_users=\r\nlms_teachers=\r\nlms_image=default\r\nlms_defurl=\r\nlms_cpulimit=\r\nlms_memlimit=\r\n"
        "lms_options=\r\nlms_cpugrnt=\r\nlms_memgrnt=\r\nlms_userid=\r\nlms_grpid= \r\nlms_grpname=\r\n"
        "lms_vol_a=x\r\n\r\n\r\n"
    )
    assert assert_same_meaning(text) == "lms_vol_a=x"
    kept = "lms_image=python\r\nlms_defurl=/tree\r\nlms_userid=7\r\nlms_options=doubleargs\r\ntitle=\r\n"
    assert (
        assert_same_meaning(kept)
        == "lms_image=python\r\nlms_defurl=/tree\r\nlms_options=doubleargs\r\nlms_userid=7\r\ntitle="
    )


def test_user_lists_numbers_and_repeated_volumes():
    text = (
        "lms_users=a, b,a,、c\r\nlms_teachers=* , t\r\nlms_cpulimit=2.0\r\nlms_actlimit=2h\r\n"
        "lms_vol_x=old\r\nlms_sub_y=提出:a, b, b\r\nlms_vol_x=新しい:*,a\r\nlms_cpulimit=0.50\r\n"
    )
    short = assert_same_meaning(text)
    assert short == (
        "lms_users=a,b,c\r\nlms_teachers=*\r\nlms_cpulimit=0.5\r\nlms_actlimit=7200\r\n"
        "lms_vol_x=新しい:*\r\nlms_sub_y=提出:a,b"
    )
    assert compact(short) == short


def test_lines_kept_exactly_and_automatic_keys_kept():
    text = "title = Python \r\nlms_userz=1\r\nlms_cpulimit=fast\r\nlms_rpctoken=\r\nlms_iframe=0\r\nlms_users=*\r\n"
    short = assert_same_meaning(text)
    assert short.split("\r\n") == [
        "lms_users=*",
        "lms_iframe=0",
        "lms_rpctoken=",
        "title = Python ",
        "lms_userz=1",
        "lms_cpulimit=fast",
    ]


def test_nothing_to_say_is_the_empty_text():
    assert compact("") == "" and compact("lms_users=\nlms_teachers=\n") == ""


def test_lf_line_end():
    assert compact_text(parse("lms_users=*\nlms_vol_a=x"), line_end="\n") == "lms_users=*\nlms_vol_a=x"


# -- property -----------------------------------------------------------------------------

_names = st.sampled_from(["a", "b", "iseki", "tanaka", "s2024001", "*", "Kana"])
_list = st.lists(_names, max_size=4)
_sep = st.sampled_from([",", ", ", " ", "、", " , "])
_users_value = st.tuples(_list, _sep).map(lambda t: t[1].join(t[0]))
_access = st.sampled_from(["課題1提出用", "-教材", ".", "-.", "x", "資料 1", "a/b"])
_vol_name = st.sampled_from(["kadai", "kadai2", "x"])
_volume_line = st.builds(
    lambda kind, name, access, users, has: f"lms_{kind}_{name}={access}" + (f":{users}" if has else ""),
    st.sampled_from(["vol", "sub", "prs"]),
    _vol_name,
    _access,
    _users_value,
    st.booleans(),
)
_fixed_line = st.one_of(
    st.builds("lms_users={}".format, _users_value),
    st.builds("lms_teachers={}".format, _users_value),
    st.builds("lms_image={}".format, st.sampled_from(["", "default", "python", "Default"])),
    st.builds("lms_defurl={}".format, st.sampled_from(["", "/lab", "/tree"])),
    st.builds("lms_cpulimit={}".format, st.sampled_from(["", "0.0", "1.0", "0.5", "2", "1e1", "fast"])),
    st.builds("lms_memlimit={}".format, st.sampled_from(["", "0", "1,073,741,824", "512M", "2G"])),
    st.builds("lms_actlimit={}".format, st.sampled_from(["", "3600", "2h", "3,600"])),
    st.builds("lms_sub_{}_close={}".format, _vol_name, st.sampled_from(["1500000000", "1000", "soon"])),
    st.builds(
        "{}={}".format,
        st.sampled_from(["lms_options", "lms_userid", "lms_grpname", "lms_memgrnt"]),
        st.sampled_from(["", " ", "1"]),
    ),
    st.builds("{}={}".format, st.sampled_from([*AUTO, "lms_iframe"]), st.sampled_from(["", "1", "3,27"])),
    st.sampled_from(["title=Python", "", "lms_userz=1", "not a key line"]),
)
_texts = st.tuples(
    st.lists(st.one_of(_fixed_line, _volume_line), max_size=14), st.sampled_from(["\r\n", "\n"]), st.booleans()
).map(lambda t: t[1].join(t[0]) + (t[1] if t[2] else ""))


@PROFILE
@given(_texts)
def test_compact_has_the_same_meaning_and_is_never_longer(text):
    short = assert_same_meaning(text)
    model = parse(text)
    assert len(short) <= len(format_params(model))
    assert compact(short) == short
    assert stored_length(short, typical=False).size <= stored_length(format_params(model), typical=False).size
