"""Editing keeps every other line as it was; bad edits change nothing."""

from __future__ import annotations

import pytest

from ipynb_tools.params.edit import add_volume, edit_params_file, remove_volume, set_param, unset_param
from ipynb_tools.params.model import ParamsError
from ipynb_tools.params.text import parse

TEACHER_TEXT = "# course 98\nlms_users=a b\nlms_teachers=t\nlms_memlimit=1,073,741,824\nlms_vol_x=課題\nnote=keep me\n"


def test_set_replaces_in_place_and_keeps_the_rest():
    text, findings = set_param(TEACHER_TEXT, "lms_users", "*")
    assert text == TEACHER_TEXT.replace("lms_users=a b", "lms_users=*")
    assert findings == []


def test_set_writes_the_new_line_canonically():
    text, _ = set_param(TEACHER_TEXT, "lms_memlimit", "2G")
    assert "lms_memlimit=2147483648\n" in text and "lms_users=a b\n" in text


def test_set_new_key_goes_to_its_canonical_place():
    text, _ = set_param(TEACHER_TEXT, "lms_image", "img")
    assert text.splitlines()[3] == "lms_image=img"
    text, _ = set_param(TEACHER_TEXT, "lms_sessioninfo", "3,12")
    assert text.splitlines()[5] == "lms_sessioninfo=3,12"
    text, _ = set_param(TEACHER_TEXT, "other", "1")
    assert text.endswith("note=keep me\nother=1\n")


def test_set_removes_later_duplicates_and_matches_sanitised_keys():
    text, _ = set_param("lms_vol_x=a\nlms_vol_X=b\nz=1\n", "lms_vol_x", "c")
    assert text == "lms_vol_x=c\nz=1\n"


def test_set_empty_access_removes_the_volume():
    text, findings = set_param(TEACHER_TEXT, "lms_vol_x", "")
    assert "lms_vol_x" not in text and findings[0].severity == "info"


def test_set_refuses_bad_values_and_line_breaks():
    for key, value in [
        ("lms_cpulimit", "x"),
        ("lms_memlimit", "big"),
        ("lms_vol_表示名", "a"),
        ("lms_users", "a\nlms_teachers=evil"),
        ("a=b", "c"),
        ("", "x"),
    ]:
        with pytest.raises(ParamsError):
            set_param(TEACHER_TEXT, key, value)


def test_crlf_and_no_trailing_newline_are_kept():
    text, _ = set_param("lms_users=a\r\nlms_teachers=t", "lms_users", "b")
    assert text == "lms_users=b\r\nlms_teachers=t"
    assert set_param("", "lms_users", "a")[0] == "lms_users=a\r\n"


def test_unset():
    text, _ = unset_param(TEACHER_TEXT, "note")
    assert "note" not in text and text.startswith("# course 98\n")
    with pytest.raises(ParamsError, match="no lms_image"):
        unset_param(TEACHER_TEXT, "lms_image")


def test_add_volume_after_the_same_kind():
    text, _ = add_volume(TEACHER_TEXT, "vol", "y", "-教材", ["t", "a"])
    assert text.splitlines()[5] == "lms_vol_y=-教材:t,a"
    text, _ = add_volume("lms_users=*\nlms_vol_a=x\nlms_sub_a=y\nz=1\n", "prs", "a", "作業")
    assert text == "lms_users=*\nlms_vol_a=x\nlms_sub_a=y\nlms_prs_a=作業\nz=1\n"
    assert parse(text).volume("prs", "a").access == "作業"


@pytest.mark.parametrize(
    "kind, name, access",
    [
        ("vol", "x", "dup"),
        ("disk", "a", "x"),
        ("vol", "Bad", "x"),
        ("vol", "a", ""),
        ("vol", "a", "a b"),
        ("vol", "a", "a/b"),
        ("vol", "a", "a;b"),
    ],
)
def test_add_volume_refuses(kind, name, access):
    with pytest.raises(ParamsError):
        add_volume(TEACHER_TEXT, kind, name, access)


def test_remove_volume_and_its_closing_time():
    text = "lms_sub_a=x\nlms_sub_a_close=5\nlms_vol_a=y\n"
    assert remove_volume(text, "sub", "a")[0] == "lms_vol_a=y\n"
    assert remove_volume(text, "sub", "a", keep_close=True)[0] == "lms_sub_a_close=5\nlms_vol_a=y\n"
    with pytest.raises(ParamsError):
        remove_volume(text, "prs", "a")


def test_edit_file_is_atomic_and_untouched_on_error(tmp_path):
    path = tmp_path / "p.txt"
    path.write_bytes(TEACHER_TEXT.encode())
    edit_params_file(path, set_param, "lms_users", "*")
    assert path.read_text().startswith("# course 98\nlms_users=*\n")
    before = path.read_bytes()
    with pytest.raises(ParamsError):
        edit_params_file(path, set_param, "lms_cpulimit", "lots")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.txt"]
