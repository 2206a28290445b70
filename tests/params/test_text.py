"""Parser and writer: line endings, sanitising, value formats, canonical order, files."""

from __future__ import annotations

import pytest

from ipynb_tools.errors import IpynbToolsError
from ipynb_tools.params.model import Params, ParamsError, VolumeParam
from ipynb_tools.params.text import (
    format_params,
    parse,
    parse_with_findings,
    read_params_file,
    write_params_file,
)
from ipynb_tools.params.values import parse_memory


def messages(text: str) -> list[str]:
    return [f"{f.severity}:{f.line}:{f.message}" for f in parse_with_findings(text)[1]]


# -- lines --------------------------------------------------------------------------------


@pytest.mark.parametrize("end", ["\r\n", "\n", "\r"])
def test_every_line_ending_gives_the_same_model(end):
    lines = ["lms_users=a,b", "lms_teachers=t", "lms_vol_x=課題", "other=1"]
    assert parse(end.join(lines)) == parse("\r\n".join(lines) + "\r\n")
    assert parse(end.join(lines)).users == ("a", "b")


def test_mixed_line_endings_and_blank_lines():
    p = parse("lms_users=a\r\n\r\nlms_teachers=t\rlms_image=img\n\n  \nlms_defurl=/lab")
    assert (p.users, p.teachers, p.image, p.defurl) == (("a",), ("t",), "img", "/lab")
    assert p.others == []


def test_split_at_first_equals_values_keep_equals():
    p = parse("lms_defurl=/lab/tree/x=y.ipynb\nlms_vol_a=x=y\nfoo=a=b=c")
    assert p.defurl == "/lab/tree/x=y.ipynb"
    assert p.volumes == [VolumeParam("vol", "a", "x=y")]
    assert p.others == ["foo=a=b=c"]


def test_keys_and_values_are_trimmed():
    p = parse("  lms_users =  a , b  \n lms_image = img ")
    assert p.users == ("a", "b") and p.image == "img"


def test_bom_is_dropped():
    assert parse("\ufefflms_users=a").users == ("a",)


def test_key_case_is_normalised_with_a_note():
    p, findings = parse_with_findings("LMS_Users=a")
    assert p.users == ("a",)
    assert [f.severity for f in findings] == ["info"]


# -- sanitising ---------------------------------------------------------------------------


@pytest.mark.parametrize("ch", list(";$!\"'&|<>?^%(){}~"))
def test_each_forbidden_character_is_stripped_from_values(ch):
    p, findings = parse_with_findings(f"lms_image=a{ch}b\nlms_users=u{ch}1\nlms_vol_x=ac{ch}c:u{ch}2")
    assert p.image == "ab"
    assert p.users == ("u1",)
    assert p.volumes == [VolumeParam("vol", "x", "acc", ("u2",))]
    assert sum("removed forbidden characters" in f.message for f in findings) == 3


def test_control_characters_and_unicode_line_breaks_are_stripped():
    p = parse("lms_image=a\x00b\x85c\u2028d\x7fe")
    assert p.image == "abcde"


def test_slash_is_stripped_from_access_names_only():
    p, findings = parse_with_findings("lms_vol_a=../etc/passwd:u\nlms_image=reg/img")
    assert p.volumes[0].access == "..etcpasswd"
    assert p.image == "reg/img"
    assert any("removed '/'" in f.message for f in findings)


def test_white_space_in_access_name_becomes_underscore():
    p, findings = parse_with_findings("lms_sub_a=課題 1　提出:u")
    assert p.volumes[0].access == "課題_1_提出"
    assert any("became '_'" in f.message and f.severity == "warning" for f in findings)


@pytest.mark.parametrize(
    "key, name",
    [("lms_vol_ABC", "abc"), ("lms_vol_a-b_c", "abc"), ("lms_sub_X1.2", "x12"), ("lms_prs_課題z9", "z9")],
)
def test_name_is_lowercased_and_restricted(key, name):
    p, findings = parse_with_findings(f"{key}=acc")
    assert [v.name for v in p.volumes] == [name]
    assert any(f"read as {name!r}" in f.message for f in findings)


def test_name_without_any_legal_character_is_an_error_and_the_line_is_kept():
    p, findings = parse_with_findings("lms_vol_表示名=アクセス")
    assert p.volumes == []
    assert p.others == ["lms_vol_表示名=アクセス"]
    assert [f.severity for f in findings] == ["error"]


def test_unicode_access_names():
    p = parse("lms_vol_a=課題\nlms_sub_a=課題1提出用\nlms_prs_a=작업")
    assert [v.access for v in p.volumes] == ["課題", "課題1提出用", "작업"]


def test_empty_access_name_removes_the_entry():
    p, findings = parse_with_findings("lms_vol_a=\nlms_sub_b=:u1\nlms_prs_c= /")
    assert p.volumes == []
    assert [f.severity for f in findings if "removed" in f.message and "entry" in f.message] == ["info"] * 3


# -- user lists ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, users",
    [
        ("", ()),
        ("*", ("*",)),
        ("a,b,c", ("a", "b", "c")),
        ("a b  c", ("a", "b", "c")),
        (" a, b ,c ,", ("a", "b", "c")),
        ("a\tb", ("a", "b")),
        ("a、b，c", ("a", "b", "c")),
        ("s2024001@example.jp", ("s2024001@example.jp",)),
    ],
)
def test_user_lists(value, users):
    assert parse(f"lms_users={value}").users == users
    assert parse(f"lms_teachers={value}").teachers == users
    expected = users or None
    assert parse(f"lms_vol_a=acc:{value}").volumes[0].users == expected


def test_volume_without_user_list_has_none():
    assert parse("lms_vol_a=acc").volumes[0].users is None
    assert parse("lms_vol_a=acc : ").volumes[0].users is None


# -- values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, number",
    [
        ("1073741824", 1073741824),
        ("1,073,741,824", 1073741824),
        ("512M", 512 * 2**20),
        ("512m", 512 * 2**20),
        ("2G", 2 * 2**30),
        ("2GB", 2 * 2**30),
        ("2GiB", 2 * 2**30),
        ("1.5G", 3 * 2**29),
        ("100k", 102400),
        ("0", 0),
    ],
)
def test_memory_formats(value, number):
    assert parse_memory(value) == number
    assert parse(f"lms_memlimit={value}").memlimit == number


@pytest.mark.parametrize("value", ["lots", "-5", "1.5", "2X", "1e9", "iB", "99999999999999999999G", "9" * 400])
def test_bad_memory_is_an_error_and_kept(value):
    p, findings = parse_with_findings(f"lms_memlimit={value}")
    assert p.memlimit is None
    assert p.others == [f"lms_memlimit={value}"]
    assert findings[0].severity == "error" and findings[0].line == 1


def test_an_activity_limit_beyond_int64_is_an_error() -> None:
    """A 400-digit lms_actlimit passed and then overflowed the spawner's float timer (no limit kept)."""
    p, findings = parse_with_findings("lms_actlimit=" + "9" * 400)
    assert p.actlimit is None
    assert findings[0].severity == "error" and "longer than any course" in findings[0].message
    assert parse("lms_actlimit=2h").actlimit == 7200


@pytest.mark.parametrize("value", ["1e300", "-1e300", "99999999999"])
def test_cpu_beyond_dockers_nano_cpus_is_an_error(value):
    """Docker takes NanoCpus as int64: a larger limit passed check and failed every launch at create."""
    p, findings = parse_with_findings(f"lms_cpulimit={value}")
    assert p.cpulimit is None
    assert findings[0].severity == "error" and "more than any machine" in findings[0].message


@pytest.mark.parametrize("value, cpu", [("0.0", 0.0), ("0.5", 0.5), ("2", 2.0), ("-1", -1.0), ("1e-1", 0.1)])
def test_cpu(value, cpu):
    assert parse(f"lms_cpulimit={value}").cpulimit == cpu


@pytest.mark.parametrize("value", ["nan", "inf", "one", "1,5"])
def test_bad_cpu(value):
    p, findings = parse_with_findings(f"lms_cpulimit={value}")
    assert p.cpulimit is None and findings[-1].severity == "error"


@pytest.mark.parametrize(
    "value, seconds", [("3600", 3600), ("3,600", 3600), ("90m", 5400), ("2h", 7200), ("1d", 86400)]
)
def test_activity_limit(value, seconds):
    assert parse(f"lms_actlimit={value}").actlimit == seconds


@pytest.mark.parametrize("key", ["lms_cpulimit", "lms_memlimit", "lms_actlimit", "lms_iframe"])
def test_empty_numbers_mean_site_default(key):
    p, findings = parse_with_findings(f"{key}=")
    assert p == Params() and findings == []


def test_closing_times():
    p = parse("lms_sub_a_close=1700000000\nlms_sub_b_close=1700000000.9\nlms_sub_c_close=2023-11-14T22:13:20+00:00")
    assert p.closes == {"a": 1700000000, "b": 1700000000, "c": 1700000000}


def test_bad_closing_time_is_an_error():
    p, findings = parse_with_findings("lms_sub_a_close=next friday")
    assert p.closes == {} and findings[0].severity == "error"


@pytest.mark.parametrize("value, flag", [("1", True), ("0", False), ("true", True), ("off", False)])
def test_iframe(value, flag):
    assert parse(f"lms_iframe={value}").iframe is flag


def test_automatic_and_reserved_keys():
    p = parse(
        "lms_sessioninfo=3,12\nlms_course=98\nlms_ltiname=Python 1\nlms_rpctoken=abc\nlms_serverurl=https://x"
        "\nlms_serverpath=/moodle\nlms_options=--x\nlms_cpugrnt=0.5\nlms_memgrnt=1G"
    )
    assert p.session_ids == ("3", "12")
    assert (p.course, p.ltiname, p.rpctoken, p.serverurl, p.serverpath) == (
        "98",
        "Python 1",
        "abc",
        "https://x",
        "/moodle",
    )
    assert (p.options, p.cpugrnt, p.memgrnt) == ("--x", "0.5", "1G")


def test_duplicates_later_wins_with_warning():
    p, findings = parse_with_findings("lms_users=a\nlms_users=b\nlms_vol_x=one\nlms_vol_x=two")
    assert p.users == ("b",)
    assert [v.access for v in p.volumes] == ["one", "two"]
    assert p.volume("vol", "x").access == "two"
    assert [f.line for f in findings] == [2, 4]


# -- other lines --------------------------------------------------------------------------


def test_other_and_unknown_lines_are_kept_exactly_in_order():
    text = "foo = bar;$\r\nlms_users=a\r\nlms_sessionifo=1,2;\r\nno equals here\r\nLMS_VOLUMES=x\r\nz=1"
    p, findings = parse_with_findings(text)
    assert p.others == ["foo = bar;$", "lms_sessionifo=1,2;", "no equals here", "LMS_VOLUMES=x", "z=1"]
    unknown = [f for f in findings if "unknown key" in f.message]
    assert len(unknown) == 2 and "did you mean lms_sessioninfo" in unknown[0].message
    assert format_params(p).endswith("foo = bar;$\r\nlms_sessionifo=1,2;\r\nno equals here\r\nLMS_VOLUMES=x\r\nz=1\r\n")


def test_lms_line_without_equals_is_kept_with_a_warning():
    p, findings = parse_with_findings("lms_users")
    assert p.others == ["lms_users"] and p.users == ()
    assert findings[0].severity == "warning"


# -- writing ------------------------------------------------------------------------------

CANONICAL = (
    "lms_users=*\r\n"
    "lms_teachers=iseki,tanaka\r\n"
    "lms_image=jupyterhub-singleuser\r\n"
    "lms_cpulimit=1.0\r\n"
    "lms_memlimit=1073741824\r\n"
    "lms_actlimit=3600\r\n"
    "lms_defurl=/lab\r\n"
    "lms_sub_kadai_close=1893423600\r\n"
    "lms_vol_kadai=-教材\r\n"
    "lms_sub_kadai=課題1提出用\r\n"
    "lms_prs_kadai=作業:s1,s2\r\n"
    "lms_vol_share=.\r\n"
    "lms_iframe=1\r\n"
    "lms_sessioninfo=3,12\r\n"
    "lms_course=98\r\n"
    "lms_options=x\r\n"
    "title=Python 入門\r\n"
    "lms_future=1\r\n"
)


def test_canonical_text_is_byte_identical():
    assert format_params(parse(CANONICAL)) == CANONICAL


def test_writer_puts_keys_in_the_old_modules_order():
    shuffled = "\n".join(reversed(CANONICAL.split("\r\n")))
    assert format_params(parse(shuffled)).split("\r\n")[:8] == CANONICAL.split("\r\n")[:8]
    # others keep their own relative order (reversed here), after everything else
    assert format_params(parse(shuffled)).endswith("lms_future=1\r\ntitle=Python 入門\r\n")


def test_empty_model_writes_the_two_user_lines():
    assert format_params(Params()) == "lms_users=\r\nlms_teachers=\r\n"


def test_writer_refuses_a_model_its_text_cannot_say():
    with pytest.raises(ParamsError):
        format_params(Params(users=("a,b",)))
    with pytest.raises(ParamsError):
        format_params(Params(image="x;y"))
    with pytest.raises(ParamsError):
        format_params(Params(others=["lms_users=a"]))
    with pytest.raises(ParamsError):
        format_params(Params(cpulimit=float("nan")))
    with pytest.raises(ParamsError):
        format_params(Params(memlimit=-1))


def test_volume_param_checks_itself():
    for bad in [
        ("disk", "a", "x"),
        ("vol", "A", "x"),
        ("vol", "a", ""),
        ("vol", "a", "a b"),
        ("vol", "a", "a/b"),
        ("vol", "a", "a:b"),
        ("vol", "a", "a;"),
    ]:
        with pytest.raises(ParamsError):
            VolumeParam(*bad)
    with pytest.raises(ParamsError):
        VolumeParam("vol", "a", "x", ("a b",))
    assert VolumeParam("vol", "a", "x", ()).users is None
    assert isinstance(ParamsError("x"), IpynbToolsError)


def test_volume_param_properties():
    v = VolumeParam("vol", "a", "-教材")
    assert v.teacher_only and not v.full_name_link and v.link_name("F") == "教材"
    dot = VolumeParam("prs", "a", ".")
    assert dot.full_name_link and dot.link_name("lms_prs_a_1_h") == "lms_prs_a_1_h" and not dot.teacher_only
    sub = VolumeParam("sub", "a", "-提出")
    assert not sub.teacher_only and sub.link_name("F") == "提出"
    assert VolumeParam("vol", "a", "-.").full_name_link and VolumeParam("vol", "a", "-.").teacher_only


# -- strict, errors, files ----------------------------------------------------------------


def test_strict_raises_one_line_naming_source_and_line():
    with pytest.raises(ParamsError) as info:
        parse("lms_users=a\nlms_memlimit=lots", "course.txt", strict=True)
    assert str(info.value).startswith("course.txt:2: ")
    assert "\n" not in str(info.value)


def test_non_text_is_a_params_error():
    with pytest.raises(ParamsError):
        parse(b"lms_users=a")  # type: ignore[arg-type]


def test_file_round_trip_is_atomic_and_canonical(tmp_path):
    path = tmp_path / "params.txt"
    path.write_bytes(b"lms_users=a b\nlms_memlimit=1,073,741,824\n")
    p = read_params_file(path)
    write_params_file(path, p)
    assert path.read_bytes() == b"lms_users=a,b\r\nlms_teachers=\r\nlms_memlimit=1073741824\r\n"
    assert [x.name for x in tmp_path.iterdir()] == ["params.txt"]


def test_file_errors_are_one_line(tmp_path):
    with pytest.raises(ParamsError, match="cannot read"):
        read_params_file(tmp_path / "missing.txt")
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"lms_users=a\nlms_image=\xe9\n")
    with pytest.raises(ParamsError, match=r"latin1.txt:2: is not UTF-8"):
        read_params_file(bad)
    with pytest.raises(ParamsError, match="is a directory"):
        read_params_file(tmp_path)


@pytest.mark.parametrize(
    "value",
    [
        "ubuntu",
        "jupyter/scipy-notebook:2024-01",
        "localhost:5000/course/py3:v1.2",
        "reg.example.org/x_y__z/a-b",
        "img@sha256:" + "0" * 64,
        "default",
    ],
)
def test_image_references_the_engines_take(value):
    assert parse(f"lms_image={value}").image == value


@pytest.mark.parametrize("value", ["a b", "Ubuntu", "x:", "-a", "a/", "a::b", "a:" + "x" * 200, "a" * 300])
def test_an_image_no_engine_could_pull_is_an_error_and_kept(value):
    """``lms_image=a b`` was read as an image and failed only at container create, at every launch."""
    p, findings = parse_with_findings(f"lms_image={value}")
    assert p.image is None
    assert p.others == [f"lms_image={value}"]
    assert findings[0].severity == "error" and "is not an image name" in findings[0].message


def test_an_empty_image_is_the_site_default():
    p, findings = parse_with_findings("lms_image=")
    assert p.effective_image is None and findings == []
