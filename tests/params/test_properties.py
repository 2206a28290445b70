"""Property tests: the parser never raises anything but ParamsError, round trips hold, written values are clean.

Example counts come from tests/params/profiles.py: 5,000 per test when ``CI`` is
set, fewer locally.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ipynb_tools.launch import LTI13_CUSTOM_CLAIM, from_lti11, from_lti13
from ipynb_tools.params.model import (
    FIXED_KEYS,
    FORBIDDEN,
    SPEC_FORBIDDEN,
    Params,
    ParamsError,
    VolumeParam,
    is_access_name,
    is_clean_value,
    is_user_token,
)
from ipynb_tools.params.rules import mounts
from ipynb_tools.params.text import _is_kept_line, format_params, parse, parse_with_findings
from ipynb_tools.params.validate import validate
from ipynb_tools.usernames import user_name_problem
from ipynb_tools.volumes.naming import VolumeKind

from .profiles import PROFILE

# -- arbitrary and parameter-shaped text --------------------------------------------------

_any_char = st.characters(blacklist_categories=("Cs",))
_tricky = st.sampled_from(
    list(SPEC_FORBIDDEN) + list("=:,/ \t-.*、，\u3000\x00\x0b\x85\u2028\ufeffAZaz09") + ["課", "İ", "K"]
)
_value = st.text(st.one_of(_any_char, _tricky), max_size=20)
_key = st.one_of(
    st.sampled_from((*FIXED_KEYS, "lms_", "lms_vol_", "lms_sub_x_close", "LMS_USERS", "lms_userz", "lms_sessionifo")),
    st.builds(
        lambda kind, name, close: f"lms_{kind}_{name}{close}",
        st.sampled_from(["vol", "sub", "prs", "VOL", "Sub"]),
        _value,
        st.sampled_from(["", "_close", "_CLOSE"]),
    ),
    _value,
)
_line = st.one_of(st.builds(lambda k, v: f"{k}={v}", _key, _value), _value)
_end = st.sampled_from(["\r\n", "\n", "\r"])
_shaped = st.lists(st.tuples(_line, _end), max_size=12).map(lambda items: "".join(a + b for a, b in items))
TEXTS = st.one_of(st.text(), _shaped)


@PROFILE
@given(TEXTS)
def test_parser_never_raises_anything_but_params_error(text):
    parse(text)
    validate(text, now=0)
    try:
        parse(text, strict=True)
    except ParamsError as exc:
        assert "\n" not in str(exc)


@PROFILE
@given(TEXTS)
def test_text_round_trip(text):
    model = parse(text)
    written = format_params(model)
    assert parse(written) == model
    assert format_params(parse(written)) == written


def _assert_clean(model: Params, written: str) -> None:
    assert written.endswith("\r\n")
    lines = written[:-2].split("\r\n")
    kept = list(model.others)
    for line in lines:
        assert "\r" not in line and "\n" not in line
        if kept and line == kept[0]:
            kept.pop(0)  # kept exactly, by design (SPEC 4: other parameters untouched)
            continue
        key, sep, value = line.partition("=")
        assert sep and key.startswith("lms_")
        assert not set(value) & FORBIDDEN, line
        if key.startswith(("lms_vol_", "lms_sub_", "lms_prs_")) and not key.endswith("_close"):
            access = value.partition(":")[0]
            assert is_access_name(access), line
    assert kept == []


@PROFILE
@given(TEXTS)
def test_no_written_value_contains_a_forbidden_character(text):
    model = parse(text)
    _assert_clean(model, format_params(model))


# -- arbitrary models ---------------------------------------------------------------------

_clean_char = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=SPEC_FORBIDDEN + "\x85\u2028\u2029")
_clean = st.text(_clean_char, max_size=12).filter(is_clean_value)
_user = st.one_of(st.just("*"), st.text(_clean_char, min_size=1, max_size=8).filter(is_user_token))
_users = st.lists(_user, max_size=4).map(tuple)
_name = st.from_regex(r"[a-z0-9]{1,6}", fullmatch=True)
_access = st.one_of(
    st.sampled_from([".", "-.", "課題", "-教材"]),
    st.builds(lambda p, b: p + b, st.sampled_from(["", "-"]), st.text(_clean_char, min_size=1, max_size=8)).filter(
        is_access_name
    ),
)
_volume = st.builds(VolumeParam, st.sampled_from(list(VolumeKind)), _name, _access, st.one_of(st.none(), _users))
_other_key = st.from_regex(r"[A-Za-z_][A-Za-z0-9_ ]{0,8}", fullmatch=True).filter(
    lambda k: not k.strip().lower().startswith("lms_")
)
_other = st.one_of(
    st.builds(lambda k, v: f"{k}={v}", _other_key, st.text(max_size=10)),
    st.builds(lambda s, v: f"lms_zz{s}={v}", st.text(max_size=5), st.text(max_size=10)),
).filter(_is_kept_line)
_opt = st.one_of(st.none(), _clean)
_image = st.one_of(
    st.none(),
    st.just("default"),
    st.from_regex(
        r"([a-z0-9]{1,5}(:[0-9]{2,4})?/)?[a-z0-9]{1,6}([._-][a-z0-9]{1,3})?(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,5})?",
        fullmatch=True,
    ),
)

MODELS = st.builds(
    Params,
    users=_users,
    teachers=_users,
    image=_image,  # an image reference by the engines' grammar (params.values.parse_image)
    defurl=_opt,
    cpulimit=st.one_of(st.none(), st.floats(-9e9, 9e9, allow_nan=False)),  # Docker NanoCpus: int64
    memlimit=st.one_of(st.none(), st.integers(0, 2**48)),
    actlimit=st.one_of(st.none(), st.integers(0, 10**9)),
    volumes=st.lists(_volume, max_size=6),
    closes=st.dictionaries(_name, st.integers(0, 2**40), max_size=3),
    iframe=st.one_of(st.none(), st.booleans()),
    sessioninfo=_opt,
    course=_opt,
    ltiname=_opt,
    rpctoken=_opt,
    serverurl=_opt,
    serverpath=_opt,
    options=_opt,
    cpugrnt=_opt,
    memgrnt=_opt,
    others=st.lists(_other, max_size=4),
)


@PROFILE
@given(MODELS)
def test_model_round_trip(model):
    written = format_params(model)
    assert parse(written) == model
    assert format_params(parse(written)) == written
    _assert_clean(model, written)
    # the canonical text of a model raises no parse finding other than notes
    assert all(f.severity != "error" for f in parse_with_findings(written)[1])


@PROFILE
@given(MODELS, st.text(max_size=6), st.booleans(), st.integers(0, 2**41))
def test_rules_never_fail_on_a_model(model, user, teacher, at):
    # the one user-name rule: mounts refuses exactly the names the container spec refuses
    if user_name_problem(user) is not None:
        with pytest.raises(ParamsError, match="user name"):
            mounts(model, user, teacher=teacher, at=at)
        return
    result = mounts(model, user, teacher=teacher, at=at)
    names = {(v.kind, v.name) for v in model.volumes}
    assert {(m.kind, m.name) for m in result} <= names
    for m in result:
        assert m.link is None or (m.link and "/" not in m.link)


@PROFILE
@given(st.dictionaries(st.text(max_size=12), st.one_of(_value, st.integers(), st.booleans(), st.none())))
def test_launches_never_raise_anything_but_params_error(fields):
    from_lti11({f"custom_{k}": "" if v is None else str(v) for k, v in fields.items()})
    from_lti13({LTI13_CUSTOM_CLAIM: fields})
