"""The program's settings: read them, and change them with validation."""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from decimal import Decimal
from importlib import resources
from typing import Any

from core import clock, definitions, validation
from core.errors import InvalidInput
from core.events import unit_of_work
from members.models import Program

TIER_WINDOWS = ("LIFETIME", "ROLLING_YEAR")
# Fits the Decimal(18, 4) columns with room to spare.
MAX_AMOUNT = Decimal(1_000_000_000_000)
# The smallest step those columns keep: anything finer would silently become 0.
AMOUNT_STEP = Decimal("0.0001")
# A hundred years: further and dates computed from "now" leave the calendar.
MAX_DAYS = 36_500
DAYS = {"referral_window_days", "tier_grace_days", "points_pending_days", "points_expiry_days"}
MAX_QUIET_WINDOWS = 10


async def get_program() -> Program:
    """The settings as the current write (or read) sees the definitions (never mutate it)."""
    return (await definitions.get())["program"]  # type: ignore[no-any-return]


async def load_definitions() -> Program:
    """The snapshot's part: the settings row (created with the defaults if missing)."""
    program = await Program.get_or_none(id=1)
    if program is None:
        program, _ = await Program.get_or_create(id=1)
    return program


@dataclass
class ProgramChanges:
    """What updateProgram may change; None leaves a setting as it is.

    Nullable settings (referral cap, expiry days, quiet hours, weekly cap) are cleared by
    listing their name in `clear`.
    """

    name: str | None = None
    currency: str | None = None
    timezone: str | None = None
    point_value: Decimal | None = None
    earn_rate_percent: Decimal | None = None
    referral_rate_percent: Decimal | None = None
    referral_window_days: int | None = None
    referral_max_per_member: int | None = None
    referral_welcome_points: int | None = None
    tier_point_unit: Decimal | None = None
    tier_window: str | None = None
    tier_grace_days: int | None = None
    welcome_points: int | None = None
    birthday_points: int | None = None
    points_pending_days: int | None = None
    points_expiry_days: int | None = None
    quiet_hours_start: str | None = None
    quiet_hours_end: str | None = None
    max_notifications_per_week: int | None = None
    # Every quiet window as (start, end) "HH:MM" pairs; [] for none. The first is also
    # quiet_hours_start/end: setting either side changes the first window, clearing either
    # removes it.
    quiet_windows: list[tuple[str, str]] | None = None
    clear: tuple[str, ...] = ()


NULLABLE = {
    "referral_max_per_member",
    "points_expiry_days",
    "quiet_hours_start",
    "quiet_hours_end",
    "max_notifications_per_week",
}


def validate(changes: ProgramChanges) -> dict[str, Any]:
    """Check every given setting; return the column values to write."""
    values: dict[str, Any] = {}
    for f in fields(changes):
        name, value = f.name, getattr(changes, f.name)
        if name == "clear" or value is None:
            continue
        if name == "name":
            value = validation.text(value, name, max_len=100)
        elif name == "currency":
            value = value.strip().upper()
            if len(value) != 3 or not value.isalpha():
                raise InvalidInput("currency must be a 3-letter ISO code", name)
        elif name == "timezone":
            value = _zone(value, name)
        elif name in ("earn_rate_percent", "referral_rate_percent"):
            _finite(value, name)
            value = validation.percent(value, name)
        elif name in ("point_value", "tier_point_unit"):
            _finite(value, name)
            if value < AMOUNT_STEP:
                raise InvalidInput(
                    f"{validation.spoken(name)} must be at least {AMOUNT_STEP}", name
                )
            if value > MAX_AMOUNT:
                raise InvalidInput(f"{validation.spoken(name)} must be at most {MAX_AMOUNT}", name)
        elif name == "tier_window":
            if value not in TIER_WINDOWS:
                raise InvalidInput("tierWindow must be LIFETIME or ROLLING_YEAR", name)
        elif name in ("quiet_hours_start", "quiet_hours_end"):
            validation.hhmm(value, name)
        elif name == "quiet_windows":
            value = _windows(value, name)
        elif name == "points_expiry_days":
            validation.positive(value, name)
        elif name == "max_notifications_per_week" or isinstance(value, int):
            validation.non_negative(value, name)
        if name in DAYS and value > MAX_DAYS:
            raise InvalidInput(f"{validation.spoken(name)} must be at most {MAX_DAYS} days", name)
        values[name] = value
    for name in changes.clear:
        if name not in NULLABLE:
            raise InvalidInput(f"{name} cannot be cleared", name)
        values[name] = None
    return values


def _windows(windows: list[tuple[str, str]], where: str) -> list[dict[str, str]]:
    validation.capped_list(windows, where, MAX_QUIET_WINDOWS)
    checked: list[dict[str, str]] = []
    for n, (start, end) in enumerate(windows):
        validation.hhmm(start, f"{where}.{n}.start")
        validation.hhmm(end, f"{where}.{n}.end")
        if start == end:
            raise InvalidInput("a quiet window must not start when it ends", f"{where}.{n}.end")
        window = {"start": start, "end": end}
        if window in checked:
            raise InvalidInput("each quiet window may be given once", f"{where}.{n}")
        checked.append(window)
    return checked


def _quiet(program: Program, values: dict[str, Any]) -> None:
    """Keep the quiet windows and quiet_hours_start/end (the first window) the same, in
    whichever form the change came: `values` gets both."""
    if "quiet_windows" in values:
        windows = values["quiet_windows"]
    else:
        names = ("quiet_hours_start", "quiet_hours_end")
        if not any(name in values for name in names):
            return
        windows = list(program.quiet_windows or [])
        if values.get("quiet_hours_start", "") is None or values.get("quiet_hours_end", "") is None:
            windows = windows[1:]
        else:
            first = dict(windows[0]) if windows else {}
            start = values.get("quiet_hours_start", first.get("start"))
            end = values.get("quiet_hours_end", first.get("end"))
            if start is None or end is None:
                missing = "quiet_hours_end" if end is None else "quiet_hours_start"
                raise InvalidInput("a quiet window needs both a start and an end", missing)
            if start == end:
                raise InvalidInput("a quiet window must not start when it ends", "quiet_hours_end")
            windows = [{"start": start, "end": end}, *windows[1:]]
    values["quiet_windows"] = windows
    values["quiet_hours_start"] = windows[0]["start"] if windows else None
    values["quiet_hours_end"] = windows[0]["end"] if windows else None


def _finite(value: Decimal, where: str) -> None:
    if not value.is_finite():
        raise InvalidInput(f"{validation.spoken(where)} must be a finite number", where)


@functools.cache
def iana_zones() -> frozenset[str]:
    """The IANA time zones (from tzdata), without 'Factory' and without what only the host
    has ('localtime', 'posixrules'): a program's zone must mean the same on every server."""
    names = resources.files("tzdata").joinpath("zones").read_text().split()
    return frozenset(names) - {"Factory"}


def _zone(value: str, where: str) -> str:
    if value not in iana_zones():
        raise InvalidInput("timezone must be an IANA zone such as Asia/Ho_Chi_Minh", where)
    return validation.zone(value, where)


async def update_program(changes: ProgramChanges) -> Program:
    """Change the settings (inside the caller's unit of work); returns the row as written."""
    values = validate(changes)
    async with unit_of_work():
        program = await load_definitions()
        _quiet(program, values)
        if values:
            values["updated_at"] = clock.now()
            await Program.filter(id=program.id).update(**values)
            await program.refresh_from_db()
            await definitions.changed()
    return program
