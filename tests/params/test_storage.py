"""Stored length (SPEC 10): characters not bytes, CRLF counts two, the automatic keys, the verdicts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ipynb_tools.params.compact import compact
from ipynb_tools.params.findings import ERROR, INFO, WARNING
from ipynb_tools.params.model import ParamsError
from ipynb_tools.params.storage import (
    AUTOMATIC_STORED_KEYS,
    COLUMN_SIZE_ENV,
    MOODLE_COLUMN_SIZE,
    TYPICAL_AUTOMATIC,
    StorageLimit,
    check_stored_length,
    site_column_size,
    stored_length,
)
from ipynb_tools.params.text import parse, split_lines
from ipynb_tools.params.validate import validate

from .profiles import PROFILE
from .test_properties import TEXTS

#: A whole stored text with every automatic key, as the old module saved it for a course with two
#: assignments (two task, two personal, two submit volumes, a closing time, limits, an image, three
#: teachers): the issue's example, about 410 characters.
REALISTIC = (
    "lms_users=*\r\n"
    "lms_teachers=iseki, tanaka, suzuki\r\n"
    "lms_image=python-3.12\r\n"
    "lms_memlimit=1,073,741,824\r\n"
    "lms_sub_kadai1_close=1893423600\r\n"
    "lms_vol_kadai1=-課題1\r\n"
    "lms_vol_kadai2=-課題2\r\n"
    "lms_prs_kadai1=課題1\r\n"
    "lms_prs_kadai2=課題2\r\n"
    "lms_sub_kadai1=課題1提出用\r\n"
    "lms_sub_kadai2=課題2提出用\r\n"
    "lms_iframe=1\r\n"
    "lms_sessioninfo=3,27\r\n"
    "lms_course=Python入門\r\n"
    "lms_ltiname=JupyterHub\r\n"
    "lms_rpctoken=\r\n"
    "lms_serverurl=https://el.mml.tuis.ac.jp:443\r\n"
    "lms_serverpath="
)


def _line(key: str, value: str) -> int:
    return len(key) + 1 + len(value)


# -- counting -----------------------------------------------------------------------------


def test_characters_not_bytes_for_japanese_access_names():
    text = "lms_sub_kadai=課題1提出用"
    measured = stored_length(text, typical=False)
    assert measured.characters == len("lms_sub_kadai=") + 6 == 20
    assert measured.utf8_bytes == len("lms_sub_kadai=") + 6 * 3 - 2 == 30
    assert measured.size == 20
    assert stored_length(text, typical=False, unit="bytes").size == 30


def test_line_ends_count_as_crlf_whatever_the_file_used():
    lines = ["lms_users=*", "lms_teachers=iseki", "lms_vol_a=x"]
    body = sum(map(len, lines))
    for end in ("\r\n", "\n", "\r"):
        assert stored_length(end.join(lines), typical=False).size == body + 2 * 2
        assert stored_length(end.join(lines) + end, typical=False).size == body + 3 * 2
        stored = stored_length(end.join(lines) + end, typical=False).text
        assert stored == "\r\n".join(lines) + "\r\n"


def test_blank_lines_count_and_a_bom_does_not():
    assert stored_length("\ufefflms_users=*\n\nlms_teachers=a", typical=False).size == 11 + 2 + 2 + 14
    assert stored_length("lms_users=*\n\n", typical=False).parts == {"users": 13, "blank lines": 2}


def test_missing_automatic_keys_count_with_typical_values():
    measured = stored_length("lms_users=*")
    typical = sum(_line(k, TYPICAL_AUTOMATIC[k]) + 2 for k in AUTOMATIC_STORED_KEYS)
    # every automatic line ends in CRLF except the last one of the stored text
    assert measured.size == len("lms_users=*") + typical
    assert measured.parts["automatic keys"] == typical - 2 and measured.parts["users"] == 13
    assert [a.origin for a in measured.automatic] == ["typical"] * len(AUTOMATIC_STORED_KEYS)
    assert {a.key for a in measured.automatic} == {
        "lms_sessioninfo",
        "lms_serverurl",
        "lms_serverpath",
        "lms_rpctoken",
        "lms_course",
        "lms_ltiname",
        "lms_iframe",
    }
    # a site that writes no automatic keys
    assert stored_length("lms_users=*", typical=False).size == 11


def test_automatic_values_in_the_text_are_counted_as_they_are():
    text = "lms_users=*\r\nlms_course=Python入門\r\nlms_sessioninfo=3,27\r\n"
    measured = stored_length(text)
    by_key = {a.key: a for a in measured.automatic}
    assert by_key["lms_course"].origin == "text" and by_key["lms_course"].value == "Python入門"
    assert by_key["lms_course"].size == _line("lms_course", "Python入門") + 2
    assert by_key["lms_sessioninfo"].size == _line("lms_sessioninfo", "3,27") + 2
    assert by_key["lms_ltiname"].origin == "typical"
    assert measured.text.startswith(text)


def test_given_automatic_values_replace_the_text_and_none_removes():
    text = "lms_users=*\r\nlms_course=x\r\nlms_iframe=1\r\n"
    given = {
        "lms_course": "とても長いコース名" * 3,
        "lms_iframe": None,
        "lms_rpctoken": "",
        "lms_sessioninfo": "1,2",
        "lms_ltiname": "J",
        "lms_serverurl": "https://h:443",
        "lms_serverpath": "",
    }
    measured = stored_length(text, automatic=given)
    assert "lms_iframe" not in measured.text and "lms_course=x\r\n" not in measured.text
    expected = 13 + sum(_line(k, v) + 2 for k, v in given.items() if v is not None)
    assert measured.size == expected
    assert {a.key: a.origin for a in measured.automatic}["lms_course"] == "given"
    with pytest.raises(ParamsError):
        stored_length(text, automatic={"lms_users": "x"})
    with pytest.raises(ParamsError):
        stored_length(text, automatic={"lms_course": "a\nb"})


def test_a_model_is_measured_in_its_canonical_text():
    model = parse("lms_users = a ,b\nlms_vol_x=y\n")
    assert stored_length(model, typical=False).text == "lms_users=a,b\r\nlms_teachers=\r\nlms_vol_x=y\r\n"


def test_parts_say_what_takes_the_room():
    measured = stored_length(REALISTIC)
    assert list(measured.parts) == [
        "automatic keys",
        "volumes",
        "closing times",
        "users",
        "teachers",
        "image and limits",
    ]
    assert sum(measured.parts.values()) == measured.size
    assert measured.parts["teachers"] == len("lms_teachers=iseki, tanaka, suzuki\r\n")
    assert [name for name, _ in measured.biggest(2)] == ["automatic keys", "volumes"]


# -- verdicts -----------------------------------------------------------------------------


def test_realistic_text_is_an_error_and_its_compact_verdict_is_reported():
    size = stored_length(REALISTIC).size
    assert 400 <= size <= 420
    (finding,) = check_stored_length(REALISTIC)
    assert finding.severity == ERROR and finding.line is None and finding.key == "instructorcustomparameters"
    assert f"the text is {size} characters with the automatic keys: {size - 255} over" in finding.message
    assert "automatic keys" in finding.message and "volumes" in finding.message
    short = compact(REALISTIC)
    short_size = stored_length(short).size
    assert short_size < size
    # the compact form does not fit 255 either: the check says so, with the compact text's own size
    assert f"even 'params format --compact' needs {short_size} ({short_size - 255} over)" in finding.message
    (again,) = check_stored_length(short)
    assert again.severity == ERROR and f"the text is {short_size} characters" in again.message
    # on a column exactly as wide as the compact text, the compact form fits and the original does not
    (wide,) = check_stored_length(REALISTIC, column_size=short_size)
    assert wide.severity == ERROR
    assert f"writes the same meaning in {short_size} (0 left)" in wide.message
    assert check_stored_length(short, column_size=short_size)[0].severity == WARNING


def test_near_the_limit_is_a_warning_and_room_left_a_note():
    text = "lms_users=*\r\nlms_vol_a=x"
    size = stored_length(text, typical=False).size
    assert size == 24
    assert check_stored_length(text, column_size=24, typical=False)[0].severity == WARNING
    # warning while less than a tenth of the column is left: 2 of 26 is, 3 of 27 is not
    assert check_stored_length(text, column_size=26, typical=False)[0].severity == WARNING
    (note,) = check_stored_length(text, column_size=27, typical=False)
    assert note.severity == INFO and "(3 left)" in note.message
    (over,) = check_stored_length(text, column_size=size - 1, typical=False)
    assert over.severity == ERROR and "1 over the" in over.message and "as stored" in over.message


def test_warning_suggests_compact_when_it_saves_room():
    text = "lms_users=a, b, c\r\nlms_memlimit=1,073,741,824\r\nlms_cpulimit=2.0\r\n"
    size = stored_length(text, typical=False).size
    short = stored_length(compact(text), typical=False).size
    (warning,) = check_stored_length(text, column_size=size + 1, typical=False)
    assert warning.severity == WARNING and f"would leave {size + 1 - short}" in warning.message


def test_bytes_unit_for_a_text_column():
    text = "lms_sub_kadai=課題1提出用"
    (over,) = check_stored_length(text, column_size=25, unit="bytes", typical=False)
    assert over.severity == ERROR and "25-byte column" in over.message
    assert check_stored_length(text, column_size=25, typical=False)[0].severity != ERROR


def test_validate_adds_the_length_finding_only_when_asked():
    assert all(f.key != "instructorcustomparameters" for f in validate(REALISTIC, now=0))
    findings = validate(REALISTIC, now=0, storage=StorageLimit())
    assert findings[-1].severity == ERROR and findings[-1].key == "instructorcustomparameters"
    assert validate(parse(REALISTIC), now=0, storage=StorageLimit())[-1].severity == ERROR


@pytest.mark.parametrize("size", [0, -1, True, 2.5, "255"])
def test_bad_column_sizes_are_refused(size):
    with pytest.raises(ParamsError):
        StorageLimit(size)


def test_site_column_size():
    assert site_column_size(environ={}) == MOODLE_COLUMN_SIZE == 255
    assert site_column_size(environ={COLUMN_SIZE_ENV: " 1000 "}) == 1000
    assert site_column_size(300, environ={COLUMN_SIZE_ENV: "1000"}) == 300
    # str.isdigit() accepts these, and int() refuses "²": one clear error, never a ValueError
    for bad in ("0", "-5", "big", "2.5", "²", "2²", "\uff13\uff10\uff10", "\u0663\u0660\u0660", "1_000", "+300"):
        with pytest.raises(ParamsError, match=COLUMN_SIZE_ENV):
            site_column_size(environ={COLUMN_SIZE_ENV: bad})


def test_an_automatic_key_given_twice_is_counted_once_with_the_later_value():
    text = "lms_users=*\r\nlms_course=A\r\nlms_vol_a=x\r\nLMS_COURSE=Python入門\r\n"
    measured = stored_length(text, typical=False)
    assert measured.text == "lms_users=*\r\nlms_vol_a=x\r\nLMS_COURSE=Python入門\r\n"
    (course,) = [a for a in measured.automatic if a.key == "lms_course"]
    assert course.value == "Python入門" and course.origin == "text"
    assert course.size == measured.parts["automatic keys"] == len("LMS_COURSE=Python入門\r\n")
    given = stored_length(text, automatic={"lms_course": "B"}, typical=False)
    assert given.text == "lms_users=*\r\nlms_vol_a=x\r\nlms_course=B\r\n"
    removed = stored_length(text, automatic={"lms_course": None}, typical=False)
    assert removed.text == "lms_users=*\r\nlms_vol_a=x\r\n"
    assert {a.key: (a.value, a.origin) for a in removed.automatic}["lms_course"] == (None, "given")


def test_keys_not_counted_say_so():
    measured = stored_length("lms_users=*\r\nlms_iframe=1", typical=False)
    origins = {a.key: (a.origin, a.value, a.size) for a in measured.automatic}
    assert origins["lms_iframe"] == ("text", "1", len("lms_iframe=1"))
    assert origins["lms_course"] == ("absent", None, 0)


# -- property -----------------------------------------------------------------------------


@PROFILE
@given(TEXTS, st.booleans())
def test_counting_property(text, typical):
    """The stored text is the text with CRLF line ends (plus the automatic lines); parts add up."""
    measured = stored_length(text, typical=typical)
    body = text.removeprefix("\ufeff")
    lines = split_lines(body)
    # each automatic key is stored once: its last line
    keys = [line.partition("=")[0].strip().lower() if "=" in line else None for line in lines]
    keys = [key if key in AUTOMATIC_STORED_KEYS else None for key in keys]
    crlf = "\r\n".join(line for i, line in enumerate(lines) if keys[i] is None or keys[i] not in keys[i + 1 :])
    assert measured.text.startswith(crlf)
    assert "\n" not in measured.text.replace("\r\n", "") and "\r" not in measured.text.replace("\r\n", "")
    assert sum(measured.parts.values()) == measured.size == len(measured.text)
    assert measured.utf8_bytes == len(measured.text.encode("utf-8"))
    if not typical:
        assert measured.text == crlf
