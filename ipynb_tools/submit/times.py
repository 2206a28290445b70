"""Times of a submission: the moment in UTC, its ISO text in records, and the text shown to people."""

from __future__ import annotations

from datetime import UTC, datetime, timezone


def _utc(now: datetime | float | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if isinstance(now, (int, float)):
        return datetime.fromtimestamp(now, UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def format_time(unix: float) -> str:
    """``2024-05-01 12:00 UTC`` plus the local time when the local zone is not UTC."""
    utc = datetime.fromtimestamp(unix, UTC)
    text = utc.strftime("%Y-%m-%d %H:%M:%S UTC")
    local = datetime.fromtimestamp(unix).astimezone()
    if local.utcoffset():
        text += local.strftime(" (%Y-%m-%d %H:%M:%S %Z)")
    return text


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
