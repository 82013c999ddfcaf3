"""Jobs of the tiers area: the tier review and birthday points (both idempotent)."""

from __future__ import annotations

from rewards import birthdays, tiers
from server.jobs import job


@job("tiers.review")
async def review_tiers() -> dict[str, int]:
    return await tiers.review_tiers()


@job("points.birthdays")
async def birthday_points() -> int:
    return await birthdays.safe_credit_birthdays()
