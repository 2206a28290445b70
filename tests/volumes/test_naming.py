"""The volume vocabulary: kinds, the NAME rule, full names and labels (pure, no engine)."""

from __future__ import annotations

import json

import pytest

from ipynb_tools.params.model import VolumeParam
from ipynb_tools.volumes.naming import (
    ENGINE_KINDS,
    VolumeKind,
    VolumeName,
    VolumeNameError,
    codes_and_labels,
    full_name,
    parse_full_name,
    task_name_for_personal,
)


@pytest.mark.parametrize(
    "text, kind",
    [
        ("vol", VolumeKind.TASK),
        ("Task", VolumeKind.TASK),
        ("sub", VolumeKind.SUBMIT),
        (" submit ", VolumeKind.SUBMIT),
        ("PRS", VolumeKind.PERSONAL),
        ("personal", VolumeKind.PERSONAL),
    ],
)
def test_a_kind_is_read_from_its_code_or_its_label(text, kind):
    assert VolumeKind.parse(text) is kind


def test_an_unknown_kind_names_every_accepted_word():
    with pytest.raises(VolumeNameError) as info:
        VolumeKind.parse("vols")
    assert str(info.value) == "volume kind 'vols' is not one of vol, task, sub, submit, prs, personal"
    assert codes_and_labels() == ["vol", "task", "sub", "submit", "prs", "personal"]


def test_a_kind_writes_as_its_code_and_reads_as_its_label():
    assert [k.label for k in VolumeKind] == ["task", "submit", "personal"]
    assert f"lms_{VolumeKind.SUBMIT}_x" == "lms_sub_x"
    assert json.dumps({"kind": VolumeKind.PERSONAL}) == '{"kind": "prs"}'
    assert ENGINE_KINDS == (VolumeKind.TASK, VolumeKind.SUBMIT)


def test_full_names_round_trip_with_typed_kinds_and_labels():
    full = full_name("sub", "xyz", "98", "el.mml.tuis.ac.jp")
    assert full == "lms_sub_xyz_98_el.mml.tuis.ac.jp"
    parts = parse_full_name(full)
    assert parts == VolumeName(VolumeKind.SUBMIT, "xyz", "98", "el.mml.tuis.ac.jp")
    assert parts.kind is VolumeKind.SUBMIT and parts.kind_label == "submit"
    assert parts.labels["io.ipynb-tools.kind"] == "sub"
    assert task_name_for_personal("lms_prs_xyz_98_h") == "lms_vol_xyz_98_h"
    with pytest.raises(VolumeNameError):
        parse_full_name("lms_abc_xyz_98_h")


def test_the_parameter_model_and_the_names_share_the_kinds():
    param = VolumeParam("prs", "xyz", "-x")
    assert param.kind is VolumeKind.PERSONAL and param.kind_label == "personal"
    assert param.key == "lms_prs_xyz"
    assert not VolumeParam("sub", "xyz", "-x").teacher_only
