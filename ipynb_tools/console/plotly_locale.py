"""plotly.js in the page's language: the locale the console registers with plotly.js (issue 15).

The plotly Python package ships ``plotly.min.js`` but none of plotly.js's locale files, and the console
serves no third-party JavaScript but that one file. So the console makes the locale itself, in
plotly.js's documented locale form (``Plotly.register({moduleType: "locale", name, dictionary,
format})``, then ``config.locale = name``; plotly.js ``src/locale-en.js`` is the English one):

- ``dictionary``: plotly.js's own English UI strings (the modebar's tooltips, its notices) mapped to
  our translations, from the ``console`` catalogue (:data:`PLOTLY_MESSAGES`, marked with ``N_``);
- ``format``: month and day names, AM/PM, the decimal and grouping signs, and the date patterns of
  the axis ticks (``year``, ``month``, ``dayMonth``, ``dayMonthYear``) and of ``date``/``time``, all
  from the Unicode CLDR through Babel (:func:`d3_pattern` turns a CLDR pattern into d3-time-format's
  ``%``-directives, which plotly.js uses).

The page carries the locale as JSON (``<script type="application/json" id="plotly-locale">``) and
``static/charts.js`` registers it before drawing. English needs none (plotly.js's own default).
"""

from __future__ import annotations

import functools
import re
from typing import Any, Literal

from ..i18n import N_, translation

__all__ = ["PLOTLY_MESSAGES", "d3_pattern", "plotly_locale"]

#: plotly.js's English UI strings a console chart can show (the modebar of a cartesian chart and of a
#: pie, the zoom notice, the legend's hint): the keys of a locale's ``dictionary``, exactly as plotly.js
#: 4 writes them (``_(gd, "Zoom in")`` in its source).
PLOTLY_MESSAGES: tuple[str, ...] = (
    N_("Autoscale"),
    N_("Box Select"),
    N_("Compare data on hover"),
    N_("Double-click on legend to isolate one trace"),
    N_("Double-click to zoom back out"),
    N_("Download plot"),
    N_("Download plot as a PNG"),
    N_("Download plot as JSON"),
    N_("Lasso Select"),
    N_("Pan"),
    N_("Preparing image - this may take a few seconds"),
    N_("Reset"),
    N_("Reset axes"),
    N_("Reset view"),
    N_("Show closest data on hover"),
    N_("Sorry, there was a problem downloading your image!"),
    N_("Toggle show closest data on hover"),
    N_("Toggle Spike Lines"),
    N_("Zoom"),
    N_("Zoom in"),
    N_("Zoom out"),
)

#: CLDR pattern letters (runs of one letter) -> d3-time-format directives (plotly.js's date formats).
_D3 = {
    "y": "%Y",
    "yyyy": "%Y",
    "yy": "%y",
    "M": "%-m",
    "MM": "%m",
    "MMM": "%b",
    "MMMM": "%B",
    "L": "%-m",
    "LL": "%m",
    "LLL": "%b",
    "LLLL": "%B",
    "d": "%-d",
    "dd": "%d",
    "E": "%a",
    "EEE": "%a",
    "EEEE": "%A",
    "H": "%-H",
    "HH": "%H",
    "h": "%-I",
    "hh": "%I",
    "m": "%-M",
    "mm": "%M",
    "s": "%-S",
    "ss": "%S",
    "a": "%p",
}
_TOKEN = re.compile(r"'(?:[^']|'')*'|([A-Za-z])\1*|[^A-Za-z']+")


def d3_pattern(cldr: str) -> str | None:
    """A CLDR date pattern (``y年M月d日``, ``MMM d, y``) as d3-time-format directives (``%Y年%-m月%-d日``,
    ``%b %-d, %Y``); None when it has a field d3 has no directive for (plotly.js's default then applies).
    Quoted text (``'at'``) is literal, ``''`` a quote, ``%`` is written ``%%``."""
    out: list[str] = []
    for match in _TOKEN.finditer(cldr):
        token = match.group(0)
        if token.startswith("'"):
            out.append("'" if token == "''" else token[1:-1].replace("''", "'").replace("%", "%%"))
        elif match.group(1):
            directive = _D3.get(token)
            if directive is None:
                return None
            out.append(directive)
        else:
            out.append(token.replace("%", "%%"))
    return "".join(out)


@functools.cache
def plotly_locale(language: str) -> dict[str, Any] | None:
    """The plotly.js locale of ``language`` (see the module docstring), None for English (plotly.js's own).

    ``{"moduleType": "locale", "name": "ja", "dictionary": {"Zoom in": "拡大", ...}, "format": {"months":
    ["1月", ...], "shortMonths": [...], "days": [Sunday first], "shortDays", "periods", "decimal",
    "thousands", "date", "time", "year", "month", "dayMonth", "dayMonthYear"}}``. An untranslated
    message is left out of the dictionary (plotly.js shows its English).
    """
    from babel import Locale
    from babel.dates import get_day_names, get_month_names, get_period_names
    from babel.numbers import get_decimal_symbol, get_group_symbol

    if language.split("_")[0].lower() == "en":
        return None
    locale = Locale.parse(language)
    gettext = translation("console", [language]).gettext
    dictionary = {message: gettext(message) for message in PLOTLY_MESSAGES if gettext(message) != message}

    def days(width: Literal["abbreviated", "wide"]) -> list[str]:
        names = get_day_names(width, locale=locale)  # 0 = Monday in CLDR; plotly.js starts on Sunday
        return [str(names[(index + 6) % 7]) for index in range(7)]

    def months(width: Literal["abbreviated", "wide"]) -> list[str]:
        names = get_month_names(width, locale=locale)
        return [str(names[number]) for number in range(1, 13)]

    periods = get_period_names("abbreviated", "format", locale=locale)
    skeletons = locale.datetime_skeletons
    patterns = {
        "year": skeletons.get("y"),
        "month": skeletons.get("yMMM"),
        "dayMonth": skeletons.get("MMMd"),
        "dayMonthYear": skeletons.get("yMMMd"),
        "date": locale.date_formats.get("short"),
        "time": locale.time_formats.get("medium"),
    }
    fmt: dict[str, Any] = {
        "days": days("wide"),
        "shortDays": days("abbreviated"),
        "months": months("wide"),
        "shortMonths": months("abbreviated"),
        "periods": [str(periods["am"]), str(periods["pm"])],
        "decimal": get_decimal_symbol(locale),
        "thousands": get_group_symbol(locale),
    }
    for name, pattern in patterns.items():
        directives = d3_pattern(pattern.pattern) if pattern is not None else None
        if directives is not None:
            fmt[name] = directives
    return {"moduleType": "locale", "name": language, "dictionary": dictionary, "format": fmt}
