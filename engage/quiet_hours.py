"""Quiet windows: the program's local times in which no message is sent.

A window start..end is read in the program's zone; a start later than the end spans
midnight (21:00..08:00). Equal times, or either unset, mean no window. The program holds
several (for example 11:30..13:30 and 21:00..08:00, Program.quiet_windows); a message due
inside one waits for its end, and for the end of any window that end falls in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

Window = tuple[str, str]


def _parse(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def ends_at(at: datetime, start: str | None, end: str | None, zone: str) -> datetime | None:
    """If `at` falls inside the window start..end, the UTC instant it ends; else None."""
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
    """`at`, or the end of the window start..end it falls in."""
    return ends_at(at, start, end, zone) or at


def windows_of(program: Any) -> list[Window]:
    """The program's quiet windows as (start, end) pairs."""
    return [(w["start"], w["end"]) for w in program.quiet_windows or ()]


def quiet_until(at: datetime, windows: Sequence[Window], zone: str) -> datetime | None:
    """If `at` is inside any window, when the quiet is over (windows that touch or overlap
    are one quiet stretch); else None."""
    until: datetime | None = None
    moment = at
    for _ in range(2 * len(windows) + 1):  # each window can hold a moment once per day
        ends = [e for start, end in windows if (e := ends_at(moment, start, end, zone))]
        if not ends:
            return until
        until = moment = max(ends)
    return until


def release(at: datetime, windows: Sequence[Window], zone: str) -> datetime:
    """`at`, or the end of the quiet it falls in."""
    return quiet_until(at, windows, zone) or at
