"""Promotions: points multipliers over a period, for some weekdays, tiers and action types.

Overlapping promotions do not stack: the highest multiplier that matches applies.
Weekdays are ISO (1 = Monday) in the program's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tortoise import fields
from tortoise.models import Model

from core import clock, definitions, validation
from core.errors import InvalidInput
from core.events import unit_of_work
from rewards.tiers.models import Tier


class Promotion(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    multiplier = fields.DecimalField(max_digits=8, decimal_places=4)
    starts_at = fields.DatetimeField(db_index=True)
    ends_at = fields.DatetimeField(db_index=True)
    days_of_week: fields.Field[list[int] | None] = fields.JSONField(null=True)
    tier_codes: fields.Field[list[str] | None] = fields.JSONField(null=True)
    action_types: fields.Field[list[str] | None] = fields.JSONField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "promotion"


__models__ = [Promotion]


MAX_MULTIPLIER = Decimal(100)


@dataclass
class PromotionData:
    name: str
    multiplier: Decimal
    starts_at: datetime
    ends_at: datetime
    days_of_week: list[int] | None = None
    tier_codes: list[str] | None = None
    action_types: list[str] | None = None


async def create_promotion(data: PromotionData) -> Promotion:
    name = validation.text(data.name, "name", max_len=100)
    multiplier = Decimal(str(data.multiplier))
    if not Decimal(0) < multiplier <= MAX_MULTIPLIER:
        raise InvalidInput(f"multiplier must be above 0 and at most {MAX_MULTIPLIER}", "multiplier")
    if data.starts_at.tzinfo is None or data.ends_at.tzinfo is None:
        raise InvalidInput("startsAt and endsAt need a UTC offset", "starts_at")
    if data.ends_at <= data.starts_at:
        raise InvalidInput("endsAt must be after startsAt", "ends_at")
    days = None
    if data.days_of_week is not None:
        validation.capped_list(data.days_of_week, "days_of_week", 7)
        if not data.days_of_week or any(not 1 <= d <= 7 for d in data.days_of_week):
            raise InvalidInput("daysOfWeek are ISO weekdays 1..7", "days_of_week")
        days = sorted(set(data.days_of_week))
    tier_codes = None
    if data.tier_codes is not None:
        validation.capped_list(data.tier_codes, "tier_codes")
        tier_codes = sorted({c.strip() for c in data.tier_codes})
        known = set(await Tier.filter(code__in=tier_codes).values_list("code", flat=True))
        unknown = [c for c in tier_codes if c not in known]
        if unknown or not tier_codes:
            raise InvalidInput(f"unknown tier codes: {unknown}", "tier_codes")
    action_types = None
    if data.action_types is not None:
        validation.capped_list(data.action_types, "action_types")
        action_types = sorted(
            {validation.text(a, "action_types", max_len=64) for a in data.action_types}
        )
        if not action_types:
            raise InvalidInput("actionTypes may be null but not empty", "action_types")
    async with unit_of_work():
        await definitions.changed()
        return await Promotion.create(
            name=name,
            multiplier=multiplier,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            days_of_week=days,
            tier_codes=tier_codes,
            action_types=action_types,
            created_at=clock.now(),
        )


async def list_promotions() -> list[Promotion]:
    return list(await Promotion.all().order_by("-starts_at", "-id"))


def applies(
    promotion: Promotion, at: datetime, weekday: int, tier_code: str | None, action_type: str
) -> bool:
    if not promotion.starts_at <= at < promotion.ends_at:
        return False
    if promotion.days_of_week and weekday not in promotion.days_of_week:
        return False
    if promotion.tier_codes is not None and tier_code not in promotion.tier_codes:
        return False
    return promotion.action_types is None or action_type in promotion.action_types


async def load_definitions() -> tuple[Promotion, ...]:
    """The snapshot's part: every promotion."""
    return tuple(await Promotion.all().order_by("id"))


async def best_multiplier(action_type: str, at: datetime, tier_code: str | None) -> Decimal:
    """The highest multiplier of the promotions that match; 1 when none does."""
    snapshot = await definitions.get()
    active = [p for p in snapshot["promotions"] if p.starts_at <= at < p.ends_at]
    if not active:
        return Decimal(1)
    weekday = clock.local(at, snapshot["program"].timezone).isoweekday()
    matching = [
        Decimal(p.multiplier) for p in active if applies(p, at, weekday, tier_code, action_type)
    ]
    return max(matching, default=Decimal(1))
