"""Quiet hours: the program's local window in which campaign notifications are held back.

quietHoursStart..quietHoursEnd is read in the program's zone; a start later than the end
spans midnight (21:00..08:00). Equal times, or either unset, mean no quiet hours.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def _parse(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def ends_at(at: datetime, start: str | None, end: str | None, zone: str) -> datetime | None:
    """If `at` falls inside quiet hours, the UTC instant they end; else None."""
    if not start or not end or start == end:
        return None
    begin, finish = _parse(start), _parse(end)
    tz = ZoneInfo(zone)
    local = at.astimezone(tz)
    now = local.time().replace(tzinfo=None)
    if begin < finish:
        quiet = begin <= now < finish
        end_day = local.date()
    else:
        quiet = now >= begin or now < finish
        end_day = local.date() if now < finish else local.date() + timedelta(days=1)
    if not quiet:
        return None
    return datetime.combine(end_day, finish, tzinfo=tz).astimezone(UTC)


def release_time(at: datetime, start: str | None, end: str | None, zone: str) -> datetime:
    """`at`, or the end of the quiet hours it falls in."""
    return ends_at(at, start, end, zone) or at
