"""Closing times of submit volumes: one rule for ``lms_sub_NAME_close``, ``NB_SUBMITS_CLOSE`` and the close file.

A closing time is written as

- unix seconds (``1700000000``; a fraction is dropped): absolute;
- ISO 8601 with an offset (``2023-11-15T07:13:20+09:00``, ``...Z``): absolute;
- ISO 8601 without one (``2023-11-15T07:13``, ``2023-11-15``): a wall-clock time in
  the **site's time zone**.

The site's time zone is the IANA name in ``$IPYNB_TOOLS_TIMEZONE`` (e.g.
``Asia/Tokyo``), UTC when unset. The hub and a teacher running ``params check``
read it from their environment; the spawner passes the hub's value into the
container (``IPYNB_TOOLS_TIMEZONE`` in the start environment), so the close
file a teacher writes in a submit volume means the same as the parameter.
Times are shown in UTC, followed by the site's time when that zone is not UTC.

A submit volume is closed strictly **after** its closing time (:func:`is_past_close`: SPEC 4,
"submissions refused after it", as Moodle's own due dates): the closing second itself is still
open. Every place that asks "is it closed?" (``params`` rules and ``show``, ``ipynb_submit``, the
spawner's mounts, grading's late hand-ins) asks this function.
(Before this rule a zone-less time was local time in ``params`` and UTC in ``submit``.)
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo

from ..errors import IpynbToolsError
from ..i18n import N_, Message
from .variables import IPYNB_TOOLS_TIMEZONE, NB_SUBMITS_CLOSE, EnvironmentContractError

DEFAULT_TIMEZONE = "UTC"
_UNIX_RE = re.compile(r"\d+(?:\.\d*)?")


def is_past_close(close: float | None, at: float) -> bool:
    """True when a volume closing at ``close`` (unix seconds; ``None``: never closes) is closed at
    ``at`` (unix seconds): strictly after the closing time (see the module docstring)."""
    return close is not None and at > close


class ClosingTimeError(IpynbToolsError, ValueError):
    """A closing time that is neither unix seconds nor an ISO 8601 date/time (or is out of range)."""


def site_timezone(env: Mapping[str, str] | None = None) -> tzinfo:
    """The zone of closing times written without one: ``$IPYNB_TOOLS_TIMEZONE`` (IANA name), else UTC.

    Raises :class:`EnvironmentContractError` for a name that is not a known zone.
    """
    e = os.environ if env is None else env
    name = (e.get(IPYNB_TOOLS_TIMEZONE) or "").strip()
    if not name or name.upper() == DEFAULT_TIMEZONE:
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # here: its import (tz paths, sysconfig) is slow

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise EnvironmentContractError(
            f"{IPYNB_TOOLS_TIMEZONE}={name!r} is not a time zone name (such as Asia/Tokyo or UTC)"
        ) from None


def parse_close_time(text: str, *, zone: tzinfo | None = None, env: Mapping[str, str] | None = None) -> int:
    """Unix seconds of a closing time (the rule in this module's docstring).

    ``zone`` is the zone of a time without one (default :func:`site_timezone` of ``env``).
    Raises :class:`ClosingTimeError` (also a ``ValueError``) naming the text.
    """
    value = text.strip()
    if _UNIX_RE.fullmatch(value):
        from decimal import Decimal  # here: only unix times need it (exact, unlike float, for any digits)

        return int(Decimal(value))
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ClosingTimeError(
            Message(N_("time %(text)r is neither a unix time nor an ISO date/time"), text=text)
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone if zone is not None else site_timezone(env))
    try:
        stamp = moment.timestamp()
    except (OverflowError, OSError, ValueError):
        raise ClosingTimeError(Message(N_("time %(text)r is out of range"), text=text)) from None
    if stamp < 0:
        raise ClosingTimeError(Message(N_("time %(text)r is before 1970"), text=text))
    return int(stamp)


def parse_close_times(value: str | None, *, env: Mapping[str, str] | None = None) -> dict[str, int]:
    """``NB_SUBMITS_CLOSE``: ``<full name>=<time> ...`` to ``{full name: unix seconds}``."""
    result: dict[str, int] = {}
    for item in (value or "").split():
        name, sep, when = item.rpartition("=")
        if not sep or not name:
            raise EnvironmentContractError(f"{NB_SUBMITS_CLOSE} entry {item!r} is not '<volume>=<unix time>'")
        try:
            result[name] = parse_close_time(when, env=env)
        except ClosingTimeError:
            raise EnvironmentContractError(f"{NB_SUBMITS_CLOSE} entry {item!r} has no unix time") from None
    return result


def format_close_times(times: Mapping[str, int]) -> str:
    """The inverse of :func:`parse_close_times` (unix seconds)."""
    return " ".join(f"{name}={int(t)}" for name, t in times.items())


def format_close_time(unix: float, *, env: Mapping[str, str] | None = None) -> str:
    """``2024-05-01 12:00:00 UTC``, plus ``(2024-05-01 21:00:00 JST)`` when the site's zone is not UTC."""
    try:
        utc = datetime.fromtimestamp(unix, UTC)
    except (OverflowError, OSError, ValueError):
        return f"{int(unix)} (unix time, out of range)"
    text = utc.strftime("%Y-%m-%d %H:%M:%S UTC")
    try:
        zone = site_timezone(env)
    except EnvironmentContractError:
        return text
    try:
        local = utc.astimezone(zone)
    except (OverflowError, ValueError):
        return text
    if local.utcoffset():
        text += local.strftime(" (%Y-%m-%d %H:%M:%S %Z)")
    return text
