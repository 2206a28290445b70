"""Dates, times, numbers, sizes and yes/no on the console's pages, in the viewer's language (issue 15:
"dates and numbers formatted for the locale"), by Babel (the Unicode CLDR's data for each locale).

One :class:`Formats` per request: the page's language (``en``/``ja``, :func:`ipynb_tools.console.base.
choose_language`) and the site's zone (:attr:`ipynb_tools.console.config.ConsoleConfig.zone`, the one rule
of :func:`ipynb_tools.environ.closing.site_timezone`: ``IPYNB_TOOLS_TIMEZONE``, else UTC). With
2026-11-30 09:05:07 UTC and Asia/Tokyo:

=========================  ========================  ====================
what                       en                        ja
=========================  ========================  ====================
:meth:`Formats.datetime`   ``Nov 30, 2026, 6:05 PM``  ``2026年11月30日 18:05``
:meth:`Formats.time`       ``6:05:07 PM``             ``18:05:07``
:meth:`Formats.number`     ``1,234,567.5``            ``1,234,567.5``
:meth:`Formats.size`       ``1.5 MB``                 ``1.5 MB``
:meth:`Formats.boolean`    ``yes``                    ``はい``
=========================  ========================  ====================

What a program reads is never formatted here: JSON times stay ISO 8601, downloads keep their own
values, and a ``datetime-local`` input's value stays ``YYYY-MM-DDTHH:MM`` (the HTML standard's
"valid normalized local date and time string"; the browser shows it in the user's own way).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from numbers import Real
from typing import Any

from babel import Locale
from babel.dates import format_skeleton, format_time
from babel.numbers import format_decimal
from babel.units import format_unit

from ..i18n import N_, translation

__all__ = ["SIZE_UNITS", "Formats", "aware"]

#: Units of 1000 for sizes, as the engines print them (``docker system df``): bytes, then kB, MB...
SIZE_UNITS = ("B", "kB", "MB", "GB", "TB")
#: yes/no as words (a table of True/False means nothing to a reader), in the ``console`` domain.
YES, NO = N_("yes"), N_("no")
#: CLDR duration units, largest first, with their seconds (:meth:`Formats.duration`).
_DURATION_UNITS = (("duration-day", 86400), ("duration-hour", 3600), ("duration-minute", 60), ("duration-second", 1))


@dataclass(frozen=True)
class Formats:
    """How values read on a page in ``language`` (a console language: ``en``, ``ja``) with times in ``zone``."""

    language: str
    zone: dt.tzinfo

    @cached_property
    def locale(self) -> Locale:
        """Babel's locale of :attr:`language` (CLDR data: month names, patterns, separators)."""
        return Locale.parse(self.language)

    def moment(self, value: dt.datetime | float | int | None) -> dt.datetime | None:
        """``value`` as an aware time in the site's zone: a number is UTC **microseconds** since the epoch
        (the launches and the execution log keep those), a naive datetime is taken as UTC; None stays None."""
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            moment = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        else:
            moment = dt.datetime.fromtimestamp(value / 1_000_000, tz=dt.UTC)
        return moment.astimezone(self.zone)

    def datetime(self, value: dt.datetime | float | int | None, *, seconds: bool = False) -> str:
        """A date and time to the minute (``Nov 30, 2026, 6:05 PM``; ``2026年11月30日 18:05``): the
        locale's date with the month's name (CLDR skeleton ``yMMMd``) and its short time (``seconds``:
        its medium time, ``18:05:07``), joined by the locale's own pattern; ``-`` for None. Numbers as
        in :meth:`moment`."""
        moment = self.moment(value)
        if moment is None:
            return "-"
        date = format_skeleton("yMMMd", moment, tzinfo=self.zone, locale=self.locale)
        time = format_time(moment, "medium" if seconds else "short", tzinfo=self.zone, locale=self.locale)
        pattern = str(self.locale.datetime_formats["medium"])
        return pattern.replace("{1}", date).replace("{0}", time)

    def time(self, value: dt.datetime | float | int | None) -> str:
        """A time of day with seconds (``6:05:07 PM``; ``18:05:07``): when a live view was last updated."""
        moment = self.moment(value)
        if moment is None:
            return "-"
        return str(format_time(moment, "medium", tzinfo=self.zone, locale=self.locale))

    def number(self, value: float | int | None, *, digits: int | None = None) -> str:
        """A number with the locale's grouping and decimal sign (``1,234,567.5``); ``digits`` fixes the
        decimals shown (``digits=1``: ``1.5``, ``2.0``); ``-`` for None."""
        if value is None:
            return "-"
        if digits is None:
            return str(format_decimal(value, locale=self.locale))
        pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
        return str(format_decimal(value, format=pattern, locale=self.locale))

    def size(self, size: int | None) -> str:
        """Bytes for people, units of 1000 (:data:`SIZE_UNITS`): ``512 B``, ``1.5 MB``; ``-`` when unknown."""
        if size is None:
            return "-"
        value = float(size)
        for unit in SIZE_UNITS:
            if value < 1000 or unit == SIZE_UNITS[-1]:
                return f"{self.number(value, digits=0 if unit == 'B' else 1)} {unit}"
            value /= 1000
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns

    def duration(self, seconds: int | str) -> str:
        """A whole number of seconds (an int or its text: a limit choice's value) in the largest unit that
        divides it, with CLDR's short unit name: ``30 min``/``30 分``, ``2 hr``/``2 時間``, ``7 days``/``7 日``,
        ``45 sec``/``45 秒``. Anything else (a stored value the form could not read, ``0``) as its text."""
        try:
            value = int(seconds)
        except (TypeError, ValueError):
            return str(seconds)
        if value <= 0:
            return str(seconds)
        for unit, size in _DURATION_UNITS:
            if value % size == 0:
                return str(format_unit(value // size, unit, length="short", locale=self.locale))
        raise AssertionError("unreachable")  # pragma: no cover - a second divides every whole number

    def boolean(self, value: bool) -> str:
        """``yes``/``no`` in the page's language (``はい``/``いいえ``)."""
        return translation("console", [self.language]).gettext(YES if value else NO)

    def cell(self, value: Any) -> str:
        """A table value as shown: a boolean as :meth:`boolean`, a number as :meth:`number` (a whole float
        without its ``.0``, two decimals at most), a time as :meth:`datetime` with seconds, anything
        else as its text."""
        if isinstance(value, bool) or type(value).__name__ == "bool_":  # numpy's bool too
            return self.boolean(bool(value))
        if isinstance(value, Real):
            number = float(value)
            if number.is_integer():
                return self.number(int(number))
            return self.number(round(number, 2))
        if isinstance(value, dt.datetime):
            return self.datetime(value, seconds=True)
        return str(value)

    def recorded(self, value: str | None) -> str:
        """A time a record holds as ISO 8601 text with an offset (a hand-in's ``submitted_at``) as
        :meth:`datetime` with seconds; text that is no such time (a student wrote the record) as it is,
        None as ``-``."""
        moment = aware(value)
        if moment is None:
            return "-" if value is None else value
        return self.datetime(moment, seconds=True)


def aware(value: object) -> dt.datetime | None:
    """``value`` as a time when it is ISO 8601 text with an offset (``2024-04-17T10:05:00Z``,
    ``...+00:00``); None for anything else (no offset, no time, not text)."""
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
