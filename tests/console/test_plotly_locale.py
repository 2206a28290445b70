"""plotly.js in Japanese (ipynb_tools/console/plotly_locale.py): the locale the chart pages register."""

from __future__ import annotations

import re

import pytest

from ipynb_tools.console.plotly_locale import PLOTLY_MESSAGES, d3_pattern, plotly_locale
from ipynb_tools.i18n import translation


def test_japanese_locale_from_cldr_and_our_catalogue() -> None:
    locale = plotly_locale("ja")
    assert locale is not None and locale["moduleType"] == "locale" and locale["name"] == "ja"
    fmt = locale["format"]
    assert fmt["shortMonths"][10] == "11月" and fmt["months"][0] == "1月"
    assert fmt["days"][0] == "日曜日" and fmt["shortDays"][1] == "月"  # plotly.js starts on Sunday
    assert fmt["periods"] == ["午前", "午後"]
    assert fmt["dayMonth"] == "%-m月%-d日" and fmt["dayMonthYear"] == "%Y年%-m月%-d日"
    assert fmt["month"] == "%Y年%-m月" and fmt["year"] == "%Y年"
    # every plotly.js string a chart shows is translated, by the console's own catalogue
    ja = translation("console", ["ja"]).gettext
    assert set(locale["dictionary"]) == set(PLOTLY_MESSAGES)
    for english, japanese in locale["dictionary"].items():
        assert japanese == ja(english) != english
    assert locale["dictionary"]["Zoom in"] == "拡大"


def test_english_is_plotlys_own() -> None:
    assert plotly_locale("en") is None


def test_the_messages_are_plotlys_own_strings() -> None:
    """Each dictionary key is a string the installed plotly.js shows (a renamed one would stay English)."""
    from plotly.offline import get_plotlyjs

    script = get_plotlyjs()
    for message in PLOTLY_MESSAGES:
        assert f'"{message}"' in script, message
    # and the locale format's keys are plotly.js's (its English locale has them)
    english = re.search(r"format:\{days:\[.*?dayMonthYear:\"[^\"]*\"\}", script)
    assert english is not None
    for key in plotly_locale("ja")["format"]:  # type: ignore[index]
        assert f"{key}:" in english.group(0), key


@pytest.mark.parametrize(
    ("cldr", "d3"),
    [
        ("MMM d, y", "%b %-d, %Y"),
        ("y年M月d日", "%Y年%-m月%-d日"),
        ("y/MM/dd", "%Y/%m/%d"),
        ("h:mm:ss a", "%-I:%M:%S %p"),
        ("H:mm:ss", "%-H:%M:%S"),
        ("EEEE, MMMM d", "%A, %B %-d"),
        ("h 'o''clock' a, 100%", "%-I o'clock %p, 100%%"),
        ("QQQ y", None),  # a quarter: d3 has no directive
    ],
)
def test_cldr_patterns_as_d3(cldr: str, d3: str | None) -> None:
    assert d3_pattern(cldr) == d3
