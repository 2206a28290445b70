"""The execution log's charts and listings use the site zone by the contract's one rule."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ipynb_tools.errors import UsageError
from ipynb_tools.execlog.query import timezone


def test_the_site_zone_is_the_one_closing_times_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before, the charts read IPYNB_TOOLS_TZ/TZ//etc/localtime while closing times read
    IPYNB_TOOLS_TIMEZONE: one site could draw charts in one zone and close hand-ins in another."""
    monkeypatch.setenv("IPYNB_TOOLS_TIMEZONE", "Asia/Tokyo")
    monkeypatch.setenv("TZ", "America/New_York")
    assert timezone(None) == ZoneInfo("Asia/Tokyo")
    monkeypatch.delenv("IPYNB_TOOLS_TIMEZONE")
    assert timezone(None) == dt.UTC


def test_an_unknown_site_zone_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPYNB_TOOLS_TIMEZONE", "Mars/Base")
    with pytest.raises(UsageError, match="Mars/Base"):
        timezone(None)
    assert timezone("Europe/Paris") == ZoneInfo("Europe/Paris")
