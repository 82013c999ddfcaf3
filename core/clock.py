"""The one source of "now". Tests freeze and advance it; code never calls datetime.now().

Local windows (days, ISO weeks, months) are computed in the program's zone with the
helpers here, so a "day" always means the program's local day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

_frozen: datetime | None = None
_offset = timedelta(0)


def now() -> datetime:
    """Current time, timezone-aware UTC."""
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC) + _offset


def freeze(at: datetime) -> None:
    """Stop the clock at `at` (naive datetimes are taken as UTC)."""
    global _frozen
    _frozen = at if at.tzinfo else at.replace(tzinfo=UTC)


def advance(delta: timedelta) -> None:
    """Move the clock forward; a running clock gets a lasting offset."""
    global _frozen, _offset
    if _frozen is not None:
        _frozen = _frozen + delta
    else:
        _offset += delta


def unfreeze() -> None:
    global _frozen, _offset
    _frozen = None
    _offset = timedelta(0)


def local(at: datetime, zone: str) -> datetime:
    return at.astimezone(ZoneInfo(zone))


def local_today(zone: str) -> date:
    return local(now(), zone).date()


def day_key(at: datetime, zone: str) -> str:
    return local(at, zone).date().isoformat()


def week_key(at: datetime, zone: str) -> str:
    year, week, _ = local(at, zone).isocalendar()
    return f"{year}-W{week:02d}"


def month_key(at: datetime, zone: str) -> str:
    return local(at, zone).strftime("%Y-%m")


def start_of_local_day(day: date, zone: str) -> datetime:
    """The UTC instant at which `day` begins in `zone`."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone)).astimezone(UTC)
