"""The parameter form (ipynb_tools.console.forms): Params -> fields -> Params, hostile values, findings, preview."""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ipynb_tools.console.forms import (
    ACTIVITY_CHOICES,
    CPU_CHOICES,
    MAX_VOLUME_ROWS,
    MEMORY_CHOICES,
    Choice,
    choices_with,
    close_to_local,
    field_of,
    filter_images,
    form_from_params,
    params_from_form,
    preview,
)
from ipynb_tools.params.compact import compact_text
from ipynb_tools.params.findings import ERROR, WARNING, has_errors
from ipynb_tools.params.model import Params, VolumeParam
from ipynb_tools.params.storage import StorageLimit
from ipynb_tools.params.text import parse
from ipynb_tools.volumes.naming import VolumeKind

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = 1_700_000_000

STORED = (
    "lms_users=*\r\n"
    "lms_teachers=t1,t2\r\n"
    "lms_image=jupyter/base-notebook:2024\r\n"
    "lms_cpulimit=0.0\r\n"
    "lms_memlimit=1073741824\r\n"
    "lms_actlimit=3600\r\n"
    "lms_defurl=/lab\r\n"
    "lms_sub_kadai1_close=1893423600\r\n"
    "lms_vol_kadai1=-課題1\r\n"
    "lms_sub_kadai1=課題1提出用\r\n"
    "lms_prs_kadai1=作業:s1,s2\r\n"
    "lms_sessioninfo=3,14\r\n"
    "lms_course=Programming\r\n"
    "mine=keep me\r\n"
    "lms_future=unknown kept\r\n"
)


def round_trip(params: Params, zone=TOKYO) -> Params:
    form = form_from_params(params, zone)
    back, findings, _ = params_from_form(form.data(), params, zone)
    assert findings == []
    return back


def test_a_stored_set_survives_the_form_unchanged() -> None:
    params = parse(STORED)
    back = round_trip(params)
    assert back == params
    assert compact_text(back) == compact_text(params)


def test_the_form_shows_each_field_as_the_old_module_did() -> None:
    form = form_from_params(parse(STORED), TOKYO)
    assert (form.users, form.teachers, form.image, form.defurl) == ("*", "t1,t2", "jupyter/base-notebook:2024", "/lab")
    # 0.0 is "no limit" (a choice of its own), not the site default (empty)
    assert (form.cpulimit, form.memlimit, form.actlimit) == ("0", "1073741824", "3600")
    assert [c.value for c in CPU_CHOICES[:2]] == ["", "0"]
    assert any(c.value == form.memlimit for c in MEMORY_CHOICES)
    assert any(c.value == form.actlimit for c in ACTIVITY_CHOICES)
    rows = {(r.kind, r.name): r for r in form.volumes}
    assert rows[("vol", "kadai1")].access == "-課題1"
    assert rows[("prs", "kadai1")].users == "s1,s2"
    # 1893423600 is 2030-01-01 00:00 JST: the site's zone, as a datetime-local value
    assert rows[("sub", "kadai1")].close == "2030-01-01T00:00"
    assert rows[("vol", "kadai1")].close == ""


def test_site_default_and_no_limit_are_kept_apart() -> None:
    params = parse("lms_users=*\r\nlms_teachers=t")
    form = form_from_params(params, UTC)
    data = form.data() | {"cpulimit": "0", "memlimit": "", "actlimit": "0"}
    back, findings, _ = params_from_form(data, params, UTC)
    assert findings == []
    assert (back.cpulimit, back.memlimit, back.actlimit) == (0.0, None, 0)
    assert "lms_cpulimit=0" in compact_text(back).split("\r\n")
    assert not any(line.startswith("lms_memlimit") for line in compact_text(back).split("\r\n"))


def test_values_outside_the_choices_are_read_and_kept() -> None:
    params = parse("lms_users=*\r\nlms_teachers=t\r\nlms_cpulimit=1.25\r\nlms_memlimit=3G")
    form = form_from_params(params, UTC)
    assert form.cpulimit == "1.25"
    assert choices_with(CPU_CHOICES, form.cpulimit)[-1] == Choice("1.25", "1.25")
    assert len(choices_with(CPU_CHOICES, "1")) == len(CPU_CHOICES)
    back, findings, _ = params_from_form(form.data() | {"actlimit": "90m"}, params, UTC)
    assert findings == []
    assert (back.cpulimit, back.memlimit, back.actlimit) == (1.25, 3 * 1024**3, 5400)


def test_a_changed_closing_time_is_read_in_the_sites_zone() -> None:
    params = parse(STORED)
    form = form_from_params(params, TOKYO)
    data = form.data()
    index = next(r.index for r in form.volumes if r.kind == "sub")
    data[f"vol-{index}-close"] = "2030-01-02T09:30"
    back, findings, _ = params_from_form(data, params, TOKYO)
    assert findings == []
    assert back.closes == {"kadai1": 1893423600 + 86400 + 9 * 3600 + 1800}
    # emptied: the submit volume never closes
    data[f"vol-{index}-close"] = ""
    back, _, _ = params_from_form(data, params, TOKYO)
    assert back.closes == {}


def test_close_with_seconds_and_out_of_range() -> None:
    assert close_to_local(1893423601, UTC) == "2029-12-31T15:00:01"
    assert close_to_local(10**15, UTC) == str(10**15)


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("image", "evil\nlms_teachers=*", "cannot carry"),
        ("defurl", "/lab;rm -rf", "cannot carry"),
        ("vol-0-access", "a\r\nlms_users=*", "cannot carry"),
        ("vol-0-access", "a:b", "access name"),
        ("vol-0-access", "a：b", "access name"),
        ("vol-0-name", "Kadai-1", "lowercase"),
        ("vol-0-name", "ｋａｄａｉ", "lowercase"),
        ("vol-0-kind", "xyz", "kind"),
        ("vol-0-users", "s1;s2", "cannot have"),
        ("vol-0-close", "next friday", "neither a unix time"),
        ("memlimit", "lots", "not a number of bytes"),
        ("memlimit", "9" * 400, "more than any machine"),
        ("cpulimit", "-1", "negative"),
        ("cpulimit", "nan", "not a number"),
        ("actlimit", "1 week", "not a number of seconds"),
        ("users", "x" * 20_000, "characters long"),
    ],
)
def test_hostile_values_are_errors_on_their_field_and_change_nothing(field: str, value: str, fragment: str) -> None:
    params = parse("lms_users=*\r\nlms_teachers=t\r\nlms_memlimit=1G\r\nlms_sub_a=提出")
    data = form_from_params(params, UTC).data()
    data[field] = value
    back, findings, form = params_from_form(data, params, UTC)
    assert has_errors(findings)
    assert [f.key for f in findings] == [field]
    assert fragment in findings[0].message
    assert field_of(findings[0], form) == field
    # the field in error keeps the stored value in the set, so nothing is forged into it
    text = compact_text(back)
    assert "\n" not in text.replace("\r\n", "") and "lms_teachers=*" not in text
    assert ";" not in text


def test_newlines_in_user_lists_separate_names() -> None:
    params = Params()
    back, findings, _ = params_from_form({"users": "s1\r\ns2\n s3", "teachers": "t1，t2、t3"}, params, UTC)
    assert findings == []
    assert back.users == ("s1", "s2", "s3")
    assert back.teachers == ("t1", "t2", "t3")


def test_equals_and_full_width_characters_in_values() -> None:
    params = Params(users=("*",), teachers=("t",))
    data = {
        "users": "*",
        "teachers": "ｔｅａｃｈｅｒ",
        "vol-0-kind": "vol",
        "vol-0-name": "kadai",
        "vol-0-access": "a=b",
        "vol-1-kind": "sub",
        "vol-1-name": "kadai",
        "vol-1-access": "課題　提出",
    }
    back, findings, form = params_from_form(data, params, UTC)
    # '=' is an ordinary character of an access name; the full-width space is white space: refused
    assert [f.key for f in findings] == ["vol-1-access"]
    # said in the page's language (the console catalogue), English in the finding's message
    from ipynb_tools.console.base import finding_gettext

    assert "may not have white space" in findings[0].message
    assert "には空白、'/'、':' と先頭の '－' を使えません" in findings[0].translated(finding_gettext("ja"))
    assert back.volumes == [VolumeParam(VolumeKind.TASK, "kadai", "a=b")]
    assert parse(compact_text(back)).volumes == back.volumes
    # a full-width teacher name is the params library's warning, tied to the teachers field
    shown = preview(back, findings, now=NOW)
    warning = [f for f in shown.findings if f.severity == WARNING and "full-width" in f.message]
    assert warning and field_of(warning[0], form) == "teachers"


def test_rows_without_access_are_removed_and_empty_rows_ignored() -> None:
    params = parse(STORED)
    form = form_from_params(params, TOKYO)
    data = form.data()
    task = next(r.index for r in form.volumes if r.kind == "vol")
    data[f"vol-{task}-access"] = ""
    data.update({"vol-9-kind": "vol", "vol-9-name": "", "vol-9-access": "", "vol-9-users": "", "vol-9-close": ""})
    back, findings, _ = params_from_form(data, params, TOKYO)
    assert findings == []
    assert [(v.kind, v.name) for v in back.volumes] == [("sub", "kadai1"), ("prs", "kadai1")]


def test_what_the_form_does_not_show_is_carried_over() -> None:
    params = parse(STORED + "lms_sub_gone_close=1893423600\r\n")
    back = round_trip(params)
    assert back.others == ["mine=keep me", "lms_future=unknown kept"]
    assert back.sessioninfo == "3,14" and back.course == "Programming"
    assert back.closes["gone"] == 1893423600


def test_a_hundred_volumes() -> None:
    volumes = [VolumeParam(VolumeKind.TASK, f"v{i}", f"課題{i}", (f"s{i}",)) for i in range(100)]
    params = Params(users=("*",), teachers=("t",), volumes=volumes)
    back = round_trip(params, UTC)
    assert back.volumes == volumes
    shown = preview(back, storage=StorageLimit(255, typical=False), now=NOW)
    assert not shown.ok
    assert shown.left is not None and shown.left < 0
    assert field_of(shown.findings[-1], form_from_params(back, UTC)) is None
    assert "over the 255-character column" in shown.findings[-1].message


def test_too_many_rows_is_an_error_not_a_silent_cut() -> None:
    data = {f"vol-{i}-access": "a" for i in range(MAX_VOLUME_ROWS + 1)}
    _, findings, _ = params_from_form(data, Params(), UTC)
    assert [f.key for f in findings] == ["volumes"]


def test_preview_counts_as_the_lms_stores_it() -> None:
    params = parse("lms_users=*\r\nlms_teachers=t\r\nlms_sub_kadai1=課題1提出用")
    limit = StorageLimit(255, automatic={"lms_sessioninfo": "3,14", "lms_iframe": None}, typical=False)
    shown = preview(params, storage=limit, now=NOW)
    assert shown.ok
    assert shown.lines == ["lms_users=*", "lms_teachers=t", "lms_sub_kadai1=課題1提出用"]
    stored = "\r\n".join([*shown.lines, "lms_sessioninfo=3,14"])
    assert shown.stored is not None and shown.stored.size == len(stored)  # characters, CRLF = 2
    assert shown.left == 255 - len(stored)
    data = shown.to_dict(form_from_params(params, UTC))
    assert data["left"] == 255 - len(stored) and data["ok"] is True


def test_preview_findings_are_the_params_librarys() -> None:
    params = parse("lms_users=*\r\nlms_teachers=\r\nlms_vol_a=x\r\nlms_memlimit=100M")
    shown = preview(params, now=NOW)
    messages = " | ".join(f.message for f in shown.findings)
    assert "under 200 MB" in messages and "nobody can write to the task volumes" in messages
    form = form_from_params(params, UTC)
    fields = {field_of(f, form) for f in shown.findings}
    assert {"memlimit", "teachers"} <= fields


def test_errors_block_saving() -> None:
    params = parse("lms_users=*\r\nlms_teachers=t\r\nlms_memlimit=1M")
    shown = preview(params, now=NOW)
    assert not shown.ok
    assert any(f.severity == ERROR and "engine minimum" in f.message for f in shown.findings)


def test_image_filter() -> None:
    tags = [
        "jupyter/base-notebook:2024",
        "jupyter/scipy:old",
        "postgres:16",
        "<none>:<none>",
        "jupyter/base-notebook:2024",
    ]
    assert filter_images(tags, "") == ["jupyter/base-notebook:2024", "jupyter/scipy:old", "postgres:16"]
    assert filter_images(tags, "jupyter") == ["jupyter/base-notebook:2024", "jupyter/scipy:old"]
    assert filter_images(tags, "jupyter, -old") == ["jupyter/base-notebook:2024"]
    assert filter_images(tags, "-jupyter") == ["postgres:16"]


def test_default_image_word_is_the_site_default() -> None:
    back, findings, _ = params_from_form({"image": "default"}, Params(image="x"), UTC)
    assert findings == [] and back.image is None


_names = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
_access = st.text(
    st.characters(
        blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp"), blacklist_characters=";$!\"'&|<>?^%(){}~/:：－\x85"
    ),
    min_size=1,
    max_size=10,
).filter(lambda s: s == s.strip() and not s.startswith("－"))
_user = st.text("abcdefghijklmnopqrstuvwxyz0123456789_.-", min_size=1, max_size=8)


@given(
    users=st.lists(_user, max_size=4),
    volumes=st.lists(
        st.tuples(
            st.sampled_from(list(VolumeKind)), _names, _access, st.none() | st.lists(_user, min_size=1, max_size=3)
        ),
        max_size=6,
        unique_by=lambda v: (v[0], v[1]),
    ),
    cpu=st.none() | st.sampled_from([0.0, 0.5, 1.0, 1.25]),
    memory=st.none() | st.integers(0, 2**40),
    close=st.none() | st.integers(0, 4_000_000_000),
)
def test_round_trip_property(users, volumes, cpu, memory, close) -> None:  # type: ignore[no-untyped-def]
    entries = [VolumeParam(kind, name, access, tuple(u) if u else None) for kind, name, access, u in volumes]
    closes = {}
    if close is not None:
        closes = {v.name: close for v in entries if v.kind is VolumeKind.SUBMIT}
    params = Params(users=tuple(users), teachers=("t",), cpulimit=cpu, memlimit=memory, volumes=entries, closes=closes)
    back = round_trip(params, TOKYO)
    assert back == params


def test_preview_reports_the_kept_lines_as_the_adapter_does() -> None:
    params = parse("lms_users=*\r\nlms_teachers=t\r\nlms_futur=x\r\nmine=1")
    shown = preview(params, now=NOW)
    assert shown.ok
    assert any(f.severity == WARNING and "unknown key 'lms_futur'" in f.message for f in shown.findings)
    assert shown.lines[-2:] == ["lms_futur=x", "mine=1"]


def test_a_field_replaces_the_stored_line_it_could_not_read() -> None:
    params = parse("lms_users=*\r\nlms_teachers=t\r\nlms_memlimit=lots\r\nlms_sub_a=x\r\nlms_sub_a_close=someday")
    assert params.others == ["lms_memlimit=lots", "lms_sub_a_close=someday"]
    form = form_from_params(params, UTC)
    assert form.memlimit == "" and form.volumes[0].close == ""
    data = form.data() | {"memlimit": "1G", "vol-0-close": "2030-01-01T00:00"}
    back, findings, _ = params_from_form(data, params, UTC)
    assert findings == [] and back.others == []
    shown = preview(back, now=NOW)
    assert shown.ok and "lms_memlimit=1073741824" in shown.lines and "lms_sub_a_close=1893456000" in shown.lines
    # left alone, the unreadable line stays (and stays an error: nothing is saved until it is fixed)
    kept, _, _ = params_from_form(form.data(), params, UTC)
    assert "lms_memlimit=lots" in kept.others and not preview(kept, now=NOW).ok
