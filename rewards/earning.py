"""How much an order or action earns beyond the base rate: the hooks orders and actions call.

multiplier = the best matching promotion x the member's tier earnMultiplier (the caller
floors base x multiplier once). The order hooks record tier points (moving the member up
at once), pay and reverse the referrer's commission, all inside the caller's unit of work.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from members.models import Member
from rewards import promotions, referrals
from rewards.member_state import State
from rewards.tiers import service as tiers


async def multiplier(state: State, action_type: str, at: datetime) -> Decimal:
    """Active promotion multiplier x the member's tier earnMultiplier (of the member the
    current write locked). action_type is "order" for orders, else the action type key.
    """
    tier = (await tiers.state_status(state)).tier
    promotion = await promotions.best_multiplier(action_type, at, tier.code if tier else None)
    return promotion * (Decimal(tier.earn_multiplier) if tier else Decimal(1))


async def add_tier_points(member: Member, tier_points: int, at: datetime, source: str) -> None:
    """Record tier points earned (order or action) and move the member up a tier at once."""
    await tiers.add_tier_points(member.id, tier_points, at, source)


async def on_order_completed(
    member: Member, order_id: str, amount: Decimal, tier_points: int, at: datetime
) -> int:
    """Tier points, tier upgrade and the referrer's commission for a new order.

    Returns the referral points credited to the referrer (0 if none). Runs inside the
    order's unit of work.
    """
    await tiers.add_tier_points(member.id, tier_points, at, f"order:{order_id}", order_id)
    return await referrals.on_referee_order(member, order_id, amount, at)


async def on_order_refunded(
    member: Member,
    order_id: str,
    refunded_amount: Decimal,
    tier_points_reversed: int,
    at: datetime,
) -> None:
    """Reverse tier points and the referrer's commission in proportion to a refund."""
    await tiers.remove_order_tier_points(member.id, order_id, tier_points_reversed)
    await referrals.on_referee_refund(member, order_id, refunded_amount)
