"""The program's settings: read them, and change them with validation."""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from core import clock, definitions, validation
from core.errors import InvalidInput
from core.events import unit_of_work
from members.models import Program

TIER_WINDOWS = ("LIFETIME", "ROLLING_YEAR")
# Fits the Decimal(18, 4) columns with room to spare.
MAX_AMOUNT = Decimal(1_000_000_000_000)


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
    clear: tuple[str, ...] = ()


NULLABLE = {
    "referral_max_per_member",
    "points_expiry_days",
    "quiet_hours_start",
    "quiet_hours_end",
    "max_notifications_per_week",
}


def _field(name: str) -> str:
    head, *rest = name.split("_")
    return "input." + head + "".join(part.title() for part in rest)


def validate(changes: ProgramChanges) -> dict[str, Any]:
    """Check every given setting; return the column values to write."""
    values: dict[str, Any] = {}
    for f in fields(changes):
        value = getattr(changes, f.name)
        if f.name == "clear" or value is None:
            continue
        where = _field(f.name)
        if f.name == "name":
            value = validation.text(value, where, max_len=100)
        elif f.name == "currency":
            value = value.strip().upper()
            if len(value) != 3 or not value.isalpha():
                raise InvalidInput("currency must be a 3-letter ISO code", where)
        elif f.name == "timezone":
            value = validation.zone(value, where)
        elif f.name in ("earn_rate_percent", "referral_rate_percent"):
            value = validation.percent(value, where)
        elif f.name in ("point_value", "tier_point_unit"):
            validation.positive(value, where)
            if value > MAX_AMOUNT:
                raise InvalidInput(f"{where.split('.')[-1]} must be at most {MAX_AMOUNT}", where)
        elif f.name == "tier_window":
            if value not in TIER_WINDOWS:
                raise InvalidInput("tierWindow must be LIFETIME or ROLLING_YEAR", where)
        elif f.name in ("quiet_hours_start", "quiet_hours_end"):
            validation.hhmm(value, where)
        elif f.name == "points_expiry_days":
            validation.positive(value, where)
        elif f.name == "max_notifications_per_week" or isinstance(value, int):
            validation.non_negative(value, where)
        values[f.name] = value
    for name in changes.clear:
        if name not in NULLABLE:
            raise InvalidInput(f"{name} cannot be cleared", _field(name))
        values[name] = None
    return values


async def update_program(changes: ProgramChanges) -> Program:
    """Change the settings (inside the caller's unit of work); returns the row as written."""
    values = validate(changes)
    async with unit_of_work():
        program = await load_definitions()
        if values:
            values["updated_at"] = clock.now()
            await Program.filter(id=program.id).update(**values)
            await program.refresh_from_db()
            await definitions.changed()
    return program
