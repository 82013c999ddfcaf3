"""The windows every board keeps, in the program's zone: ALL_TIME, DAILY, WEEKLY (ISO week)
and MONTHLY. A window key expires GRACE after its window closes (late-reported actions for
yesterday still land; nothing reads a closed window for long)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum

from core import clock

GRACE = timedelta(days=2)
ALL = "all"


class Period(Enum):
    ALL_TIME = "ALL_TIME"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"


@dataclass(frozen=True)
class BoardWindow:
    """One window of a Period with its bounds, e.g. the ISO week 2026-W48 (a mission's
    `Window`, game/missions/windows.py, is a repeat cadence, not an interval)."""

    period: Period
    key: str  # '2026-11-23', '2026-W48', '2026-11' or 'all'
    start: datetime | None  # UTC; None for ALL_TIME
    end: datetime | None

    def ttl(self, now: datetime) -> int | None:
        """Seconds the window's Redis key is kept from `now` (core.clock time, which Redis
        does not share, hence a TTL and not an absolute expiry); <= 0 means gone."""
        return None if self.end is None else int((self.end + GRACE - now).total_seconds())


def _local_start(day: date, zone: str) -> datetime:
    return clock.start_of_local_day(day, zone)


def window(period: Period, at: datetime, zone: str) -> BoardWindow:
    """The window of `period` that contains the instant `at`."""
    if period is Period.ALL_TIME:
        return BoardWindow(period, ALL, None, None)
    day = clock.local(at, zone).date()
    if period is Period.DAILY:
        first, last = day, day + timedelta(days=1)
        return BoardWindow(
            period, clock.day_key(at, zone), _local_start(first, zone), _local_start(last, zone)
        )
    if period is Period.WEEKLY:
        first = day - timedelta(days=day.weekday())
        last = first + timedelta(days=7)
        return BoardWindow(
            period, clock.week_key(at, zone), _local_start(first, zone), _local_start(last, zone)
        )
    first = day.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1)
    return BoardWindow(
        period, clock.month_key(at, zone), _local_start(first, zone), _local_start(last, zone)
    )


@functools.lru_cache(maxsize=512)
def window_of_day(period: Period, day: date, zone: str) -> BoardWindow:
    """The window of `period` containing the local `day` (cached: a bulk load hits few)."""
    return window(period, clock.start_of_local_day(day, zone), zone)


def windows_at(at: datetime, zone: str) -> list[BoardWindow]:
    """Every period's window containing the instant `at` (a write asks on every action)."""
    return list(_windows_of_day(clock.local(at, zone).date(), zone))


@functools.lru_cache(maxsize=64)
def _windows_of_day(day: date, zone: str) -> tuple[BoardWindow, ...]:
    return tuple(window_of_day(p, day, zone) for p in Period)
