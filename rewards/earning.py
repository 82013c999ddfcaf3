"""How much an order or action earns beyond the base rate: the hooks orders and actions call.

Owned by the tiers/promotions/referrals work. Until that lands these return neutral
values, so orders and actions earn at the base rate.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from members.models import Member


async def multiplier(member: Member, action_type: str, at: datetime) -> Decimal:
    """Active promotion multiplier x the member's tier earnMultiplier.

    action_type is "order" for orders, else the action type key.
    """
    return Decimal(1)


async def add_tier_points(member: Member, tier_points: int, at: datetime, source: str) -> None:
    """Record tier points earned (order or action) and move the member up a tier at once."""


async def on_order_completed(
    member: Member, order_id: str, amount: Decimal, tier_points: int, at: datetime
) -> int:
    """Tier points, tier upgrade and the referrer's commission for a new order.

    Returns the referral points credited to the referrer (0 if none). Runs inside the
    order's unit of work.
    """
    await add_tier_points(member, tier_points, at, f"order:{order_id}")
    return 0


async def on_order_refunded(
    member: Member,
    order_id: str,
    refunded_amount: Decimal,
    tier_points_reversed: int,
    at: datetime,
) -> None:
    """Reverse tier points and the referrer's commission in proportion to a refund."""
