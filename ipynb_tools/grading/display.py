"""Text from students made safe to show: in problem lines, tables, charts, spreadsheets and the page.

Every user name, file name, tag and output that grading shows comes from a student (a file name,
the submission record, a cell) and may hold anything JSON or a file system allows: lone surrogates
(``"\\udc80"`` in JSON, undecodable bytes in a file name) that no UTF-8 file or terminal accepts,
control characters that break a line or an XML document, bidirectional overrides that turn the
rest of a line around, ``$`` that matplotlib would read as
mathtext, a megabyte of text, a leading ``=`` that a spreadsheet runs as a formula. One home for
the rules (issue 12, item C: "no text from a student can break a chart or the page").
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
ELLIPSIS = "\u2026"
#: C0 controls, DEL, C1 controls and lone surrogates: nothing a line of text, XML or UTF-8 can carry;
#: and the bidirectional controls (ALM, LRM, RLM, LRE..RLO, LRI..PDI: Unicode UAX #9), with which a
#: name reverses the rest of a problem line, a table row or a chart label (CVE-2021-42574's trick).
_UNSHOWABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: The first characters that make a spreadsheet cell a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def shown(text: object, limit: int = 300) -> str:
    """``text`` as one showable line: unshowable characters become U+FFFD, at most ``limit`` characters.

    Safe to encode as UTF-8, to print, and (after HTML/XML escaping) to put in a page or an SVG.
    """
    value = text if isinstance(text, str) else str(text)
    if not (value.isascii() and value.isprintable()):
        value = _UNSHOWABLE.sub(REPLACEMENT, value)
    if len(value) > limit:
        value = value[: max(limit - 1, 0)] + ELLIPSIS
    return value


def chart_label(text: object, limit: int = 40) -> str:
    """A label for a chart axis or legend: :func:`shown`, shorter (charts use no mathtext, see charts.py)."""
    return shown(text, limit)


def spreadsheet_text(value: object) -> object:
    """A cell value for CSV/Excel: text is made :func:`shown` and never starts a formula; others unchanged."""
    if not isinstance(value, str):
        return value
    text = shown(value, 32_000)  # Excel's limit per cell is 32,767 characters
    return "'" + text if text.startswith(_FORMULA_START) else text
