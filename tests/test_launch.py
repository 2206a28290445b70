"""Parameters from LTI 1.1 form fields and the LTI 1.3 custom claim."""

from __future__ import annotations

import pytest

from ipynb_tools.launch import LTI13_CUSTOM_CLAIM, from_lti11, from_lti13, lti11_with_findings, moodle_key
from ipynb_tools.params.model import ParamsError, VolumeParam
from ipynb_tools.params.text import parse

TEXT = (
    "lms_users=*\nlms_teachers=iseki\nlms_memlimit=1,073,741,824\nlms_vol_kadai=-教材\n"
    "lms_sub_kadai=課題1提出用\nlms_sub_kadai_close=1900000000\nlms_iframe=1\nlms_sessioninfo=3,12\ntitle=Python\n"
)


def test_moodle_key_mapping():
    assert moodle_key("LMS_Vol_Kadai") == "lms_vol_kadai"
    assert moodle_key("lms vol-x") == "lms_vol_x"
    assert moodle_key("lms_vol_課") == "lms_vol____"  # one '_' per UTF-8 byte, as in PHP


def test_lti11_launch_equals_the_text():
    form = {
        "lti_message_type": "basic-lti-launch-request",
        "user_id": "42",
        "context_id": "98",
        "roles": "Instructor",
        "custom_lms_users": "*",
        "custom_lms_teachers": "iseki",
        "custom_lms_memlimit": "1,073,741,824",
        "custom_lms_vol_kadai": "-教材",
        "custom_lms_sub_kadai": "課題1提出用",
        "custom_lms_sub_kadai_close": "1900000000",
        "custom_lms_iframe": "1",
        "custom_lms_sessioninfo": "3,12",
        "custom_title": "Python",
    }
    assert from_lti11(form) == parse(TEXT)


def test_lti11_values_are_sanitised_and_may_be_lists_or_bytes():
    params, findings = lti11_with_findings(
        {
            "custom_lms_users": ["x", "a b"],
            "custom_lms_image": b"img;rm -rf",
            "custom_lms_vol_a": "x\ny:u1",
        }
    )
    assert params.users == ("a", "b")
    # ';' is stripped (SPEC 10), and what is left is no image an engine could pull: an error, not a launch
    assert params.image is None
    assert any(f.key == "lms_image" and "is not an image name" in f.message for f in findings)
    assert params.volumes == [VolumeParam("vol", "a", "x_y", ("u1",))]
    assert findings


def test_lti13_launch_equals_the_text():
    claims = {
        "sub": "42",
        "https://purl.imsglobal.org/spec/lti/claim/roles": [
            "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
        ],
        LTI13_CUSTOM_CLAIM: {
            "lms_users": "*",
            "lms_teachers": "iseki",
            "lms_memlimit": "1,073,741,824",
            "lms_vol_kadai": "-教材",
            "lms_sub_kadai": "課題1提出用",
            "lms_sub_kadai_close": 1900000000,
            "lms_iframe": True,
            "lms_sessioninfo": "3,12",
            "title": "Python",
        },
    }
    assert from_lti13(claims) == parse(TEXT)


def test_lti13_without_custom_claim_is_empty_and_bad_shapes_are_errors():
    assert from_lti13({"sub": "1"}) == parse("")
    with pytest.raises(ParamsError):
        from_lti13({LTI13_CUSTOM_CLAIM: "lms_users=a"})
    with pytest.raises(ParamsError):
        from_lti13(["not", "a", "mapping"])  # type: ignore[arg-type]
    with pytest.raises(ParamsError):
        from_lti11("custom_lms_users=a")  # type: ignore[arg-type]
