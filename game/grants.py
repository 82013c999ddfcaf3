"""What a mission or stamp card gives: points, a badge, free spins, a voucher offer.

`validate` checks a reward when an admin defines it; `grant` hands it out inside the
caller's unit of work (points through the ledger with reason MISSION).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from tortoise.transactions import in_transaction

from core.errors import InvalidInput, NotFound, OutOfStock
from rewards.badges import service as badges
from rewards.badges.models import BadgeAward
from rewards.ledger.reasons import Reason
from rewards.ledger.service import credit
from rewards.spin_wheel import grant_free_spins
from rewards.spin_wheel.models import SpinWheel
from rewards.vouchers import grant_voucher
from rewards.vouchers.models import VoucherOffer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reward:
    points: int | None = None
    badge_code: str | None = None
    spin_wheel_id: int | None = None
    spins: int | None = None
    voucher_offer_id: int | None = None

    @property
    def empty(self) -> bool:
        return not (self.points or self.badge_code or self.spins or self.voucher_offer_id)

    def columns(self) -> dict[str, Any]:
        return {
            "reward_points": self.points,
            "reward_badge_code": self.badge_code,
            "reward_spin_wheel_id": self.spin_wheel_id,
            "reward_spins": self.spins,
            "reward_voucher_offer_id": self.voucher_offer_id,
        }

    @classmethod
    def of(cls, row: Any) -> Reward:
        """The reward stored in a Mission or StampCard row's reward_* columns."""
        return cls(
            points=row.reward_points,
            badge_code=row.reward_badge_code,
            spin_wheel_id=row.reward_spin_wheel_id,
            spins=row.reward_spins,
            voucher_offer_id=row.reward_voucher_offer_id,
        )


@dataclass
class Granted:
    points: int = 0
    badges: list[BadgeAward] = field(default_factory=list)


async def validate(reward: Reward, where: str) -> Reward:
    """Check the reward names things that exist; `where` is its input path ("reward")."""
    if reward.empty:
        raise InvalidInput("reward must give points, a badge, free spins or a voucher offer", where)
    if reward.points is not None and reward.points < 0:
        raise InvalidInput("points must not be negative", f"{where}.points")
    badge_code = reward.badge_code.strip() if reward.badge_code else None
    if badge_code:
        await badges.get(badge_code, f"{where}.badge_code")
    if (reward.spin_wheel_id is None) != (not reward.spins):
        raise InvalidInput("free spins need both spinWheelId and spins > 0", f"{where}.spins")
    if reward.spins is not None and reward.spins < 0:
        raise InvalidInput("spins must not be negative", f"{where}.spins")
    if reward.spin_wheel_id is not None and not await _wheel_exists(reward.spin_wheel_id):
        raise NotFound("no spin wheel with this id", f"{where}.spin_wheel_id")
    if reward.voucher_offer_id is not None and not await _offer_exists(reward.voucher_offer_id):
        raise NotFound("no voucher offer with this id", f"{where}.voucher_offer_id")
    return Reward(
        points=reward.points or None,
        badge_code=badge_code,
        spin_wheel_id=reward.spin_wheel_id,
        spins=reward.spins or None,
        voucher_offer_id=reward.voucher_offer_id,
    )


async def _wheel_exists(wheel_id: int) -> bool:
    return await SpinWheel.filter(id=wheel_id).exists()


async def _offer_exists(offer_id: int) -> bool:
    return await VoucherOffer.filter(id=offer_id).exists()


async def grant(member_id: int, reward: Reward, source: str, description: str) -> Granted:
    """Give `reward` to the member inside the caller's unit of work (its points and badge
    are written with the unit's other credits and awards at its end)."""
    granted = Granted()
    if reward.points:
        await credit(member_id, reward.points, Reason.MISSION, description=description)
        granted.points = reward.points
    if reward.badge_code:
        award = await badges.award(member_id, reward.badge_code, source)
        if award is not None:
            granted.badges.append(award)
    if reward.spin_wheel_id is not None and reward.spins:
        await grant_free_spins(member_id, reward.spin_wheel_id, reward.spins)
    if reward.voucher_offer_id is not None:
        try:
            # A savepoint: an offer that ran out of stock costs the member the voucher,
            # not the action that earned it.
            async with in_transaction():
                await grant_voucher(member_id, reward.voucher_offer_id, source)
        except OutOfStock:
            log.warning("voucher offer %s out of stock for %s", reward.voucher_offer_id, source)
    return granted
