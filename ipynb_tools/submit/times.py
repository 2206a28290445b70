"""Times of a submission: the moment in UTC and its ISO text in records.

Closing times, and how they are shown, are the contract's: :mod:`ipynb_tools.environ.closing`.
"""

from __future__ import annotations

from datetime import UTC, datetime


def _utc(now: datetime | float | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if isinstance(now, (int, float)):
        return datetime.fromtimestamp(now, UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
