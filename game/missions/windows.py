"""Mission windows: which period an instant falls in, in the program's zone."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from core import clock


class Window(Enum):
    ONCE = "ONCE"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"


def period_key(window: Window | str, at: datetime, zone: str) -> str:
    """'' for ONCE, else '2026-11-23', '2026-W48' or '2026-11' for the local period of `at`."""
    window = Window(window)
    if window is Window.DAILY:
        return clock.day_key(at, zone)
    if window is Window.WEEKLY:
        return clock.week_key(at, zone)
    if window is Window.MONTHLY:
        return clock.month_key(at, zone)
    return ""
