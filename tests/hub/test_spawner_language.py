"""The spawner's site language (``LTIContainerSpawner.language``) reaches the container as ``LANGUAGE``.

That variable is what the in-container commands read first (tests/test_i18n_commands.py shows a
real ``ipynb_submit`` answering in Japanese with ``LANGUAGE=ja`` and ``LANG=C.UTF-8``).
"""

from __future__ import annotations

import pytest
from traitlets import TraitError

from .test_spawner import COURSE, lti11, make_spawner


@pytest.mark.parametrize(("language", "expected"), [("ja", "ja"), ("ja_JP", "ja_JP:ja"), ("ja-JP", "ja_JP:ja")])
def test_site_language_sets_language_in_the_container(language: str, expected: str) -> None:
    s = make_spawner(language=language)
    s.prepare(lti11(**COURSE))
    assert s.environment["LANGUAGE"] == expected
    assert "LANG" not in s.environment  # the image's LANG is left alone (a missing locale would mean ASCII)
    assert s.environment["SITE_VAR"] == "1" and s.environment["NB_SUBMITS"]  # nothing else lost


def test_no_site_language_leaves_the_image_to_decide() -> None:
    s = make_spawner()
    s.prepare(lti11(**COURSE))
    assert "LANGUAGE" not in s.environment


@pytest.mark.parametrize("bad", ["C", "日本語", "ja JP", "j"])
def test_a_value_that_is_no_language_tag_is_refused_at_configuration(bad: str) -> None:
    with pytest.raises(TraitError, match=r"LTIContainerSpawner\.language: not a language tag"):
        make_spawner(language=bad)
