"""Mission windows: which period an instant falls in, in the program's zone."""

from __future__ import annotations

from collections.abc import Iterable
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
    window = window if isinstance(window, Window) else Window(window)
    if window is Window.DAILY:
        return clock.day_key(at, zone)
    if window is Window.WEEKLY:
        return clock.week_key(at, zone)
    if window is Window.MONTHLY:
        return clock.month_key(at, zone)
    return ""


def period_keys(windows: Iterable[Window | str], at: datetime, zone: str) -> dict[str, str]:
    """period_key of each distinct window (by value): missions share a few windows."""
    keys: dict[str, str] = {}
    for window in windows:
        value = window.value if isinstance(window, Window) else window
        if value not in keys:
            keys[value] = period_key(value, at, zone)
    return keys
