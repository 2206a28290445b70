"""Dates, times, numbers, sizes and yes/no for the page's locale (ipynb_tools/console/formats.py; issue 15:
"dates and numbers formatted for the locale"), at a fixed instant in fixed zones."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from ipynb_tools.console.formats import Formats, aware

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
#: 2026-11-30 09:05:07 UTC: 18:05:07 in Tokyo, 04:05:07 the same day in New York
INSTANT = datetime(2026, 11, 30, 9, 5, 7, tzinfo=UTC)
NNBSP = "\u202f"  # CLDR's space before AM/PM in English


@pytest.mark.parametrize(
    ("language", "zone", "minute", "second", "time"),
    [
        ("ja", TOKYO, "2026年11月30日 18:05", "2026年11月30日 18:05:07", "18:05:07"),
        ("en", TOKYO, f"Nov 30, 2026, 6:05{NNBSP}PM", f"Nov 30, 2026, 6:05:07{NNBSP}PM", f"6:05:07{NNBSP}PM"),
        ("ja", NEW_YORK, "2026年11月30日 4:05", "2026年11月30日 4:05:07", "4:05:07"),
        ("en", NEW_YORK, f"Nov 30, 2026, 4:05{NNBSP}AM", f"Nov 30, 2026, 4:05:07{NNBSP}AM", f"4:05:07{NNBSP}AM"),
    ],
)
def test_dates_and_times_in_the_locale_and_the_site_zone(
    language: str, zone: ZoneInfo, minute: str, second: str, time: str
) -> None:
    formats = Formats(language, zone)
    assert formats.datetime(INSTANT) == minute
    assert formats.datetime(INSTANT, seconds=True) == second
    assert formats.time(INSTANT) == time
    # UTC microseconds (the launches and the execution log) and a naive time (UTC) are the same instant
    assert formats.datetime(int(INSTANT.timestamp() * 1_000_000)) == minute
    assert formats.datetime(INSTANT.replace(tzinfo=None)) == minute
    assert formats.datetime(None) == formats.time(None) == "-"


def test_a_date_change_across_the_zone() -> None:
    """23:30 UTC is the next day in Tokyo: the date is the site's, not UTC's."""
    late = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert Formats("ja", TOKYO).datetime(late) == "2027年1月1日 8:30"
    assert Formats("ja", ZoneInfo("UTC")).datetime(late) == "2026年12月31日 23:30"


@pytest.mark.parametrize("language", ["ja", "en"])
def test_numbers_and_sizes(language: str) -> None:
    formats = Formats(language, TOKYO)
    assert formats.number(1234567) == "1,234,567"
    assert formats.number(1234567.5) == "1,234,567.5"
    assert formats.number(2, digits=1) == "2.0"
    assert formats.number(None) == "-"
    assert formats.size(512) == "512 B"
    assert formats.size(1_500_000) == "1.5 MB"
    assert formats.size(999_999) == "1,000.0 kB"  # under 1000 kB before rounding: still kB
    assert formats.size(12_345_678_901_234_567) == "12,345.7 TB"
    assert formats.size(None) == "-"


def test_numbers_follow_the_locale_s_signs() -> None:
    """German writes 1.234.567,5: the locale's own signs, not a fixed pattern (the console speaks en
    and ja, which agree; this shows the signs come from CLDR)."""
    assert Formats("de", TOKYO).number(1234567.5) == "1.234.567,5"
    assert Formats("de", TOKYO).size(1_500_000) == "1,5 MB"


def test_yes_no_and_table_cells() -> None:
    ja, en = Formats("ja", TOKYO), Formats("en", TOKYO)
    assert (ja.boolean(True), ja.boolean(False)) == ("はい", "いいえ")
    assert (en.boolean(True), en.boolean(False)) == ("yes", "no")
    assert ja.cell(True) == "はい" and en.cell(False) == "no"
    assert ja.cell(12345) == "12,345" and ja.cell(2.0) == "2" and en.cell(1 / 3) == "0.33"
    assert ja.cell(INSTANT) == "2026年11月30日 18:05:07"
    assert ja.cell("<b>text</b>") == "<b>text</b>"  # text as it is (the template escapes it)


def test_record_times() -> None:
    """A hand-in record's time: ISO 8601 with an offset is a time; anything else a student wrote stays."""
    ja = Formats("ja", TOKYO)
    assert ja.recorded("2026-11-30T09:05:07Z") == "2026年11月30日 18:05:07"
    assert ja.recorded("2026-11-30T18:05:07+09:00") == "2026年11月30日 18:05:07"
    assert ja.recorded("2026-11-30T09:05:07") == "2026-11-30T09:05:07"  # no offset: not known which zone
    assert ja.recorded("soon") == "soon" and ja.recorded(None) == "-"
    assert aware("2026-11-30T09:05:07Z") == INSTANT and aware(12) is None and aware("x") is None


@pytest.mark.parametrize(
    ("seconds", "ja", "en"),
    [
        (1800, "30 分", "30 min"),
        ("5400", "90 分", "90 min"),  # a choice's value is text; 1.5 h reads in minutes, never rounded
        (3600, "1 時間", "1 hr"),
        (86400 * 7, "7 日", "7 days"),
        (45, "45 秒", "45 sec"),
        ("lots", "lots", "lots"),  # a stored value the form could not read stays as it is
        ("0", "0", "0"),
    ],
)
def test_duration_in_the_largest_whole_unit(seconds: int | str, ja: str, en: str) -> None:
    """The Edit page's activity limits (lms_actlimit) read '30 分', not '30 min', on a Japanese page."""
    assert Formats("ja", TOKYO).duration(seconds) == ja
    assert Formats("en", TOKYO).duration(seconds) == en
