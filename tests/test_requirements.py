"""tests/requirements.py: a missing thing skips locally and fails in CI."""

from __future__ import annotations

import pytest

from tests.requirements import in_ci, require, unavailable


def test_skips_when_not_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert not in_ci()
    with pytest.raises(pytest.skip.Exception, match="no chromium"):
        unavailable("no chromium")
    with pytest.raises(pytest.skip.Exception, match="no engine"):
        require(False, "no engine")


@pytest.mark.parametrize("value", ["true", "1"])
def test_fails_in_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    assert in_ci()
    with pytest.raises(pytest.fail.Exception, match=r"no chromium \(nothing may skip in CI\)"):
        unavailable("no chromium")
    with pytest.raises(pytest.fail.Exception, match="no engine"):
        require(False, "no engine")


def test_empty_ci_is_not_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception):
        unavailable("x")


def test_condition_met_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    require(True, "never said")
