"""Builders shared by the voucher and spin-wheel tests (through the domain functions)."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from core.settings import Settings
from members.models import Member
from rewards.ledger import service as ledger
from rewards.ledger.reasons import Reason
from rewards.spin_wheel import service as spins
from rewards.spin_wheel.models import SpinWheel
from rewards.vouchers import service as vouchers
from rewards.vouchers.models import VoucherOffer
from tests import factories

_seq = itertools.count(1)


async def member_with(points: int, **fields: Any) -> Member:
    """A member holding `points` spendable points."""
    m = await factories.member(**fields)
    if points:
        await ledger.credit(m.id, points, Reason.ADJUSTMENT, description="test funds")
    return m


async def token_with(points: int, settings: Settings, **fields: Any) -> tuple[Member, str]:
    m = await member_with(points, **fields)
    return m, factories.token_for(m, settings)


async def balance(member: Member) -> int:
    return (await ledger.balance_of(member.id)).available


async def offer(**fields: Any) -> VoucherOffer:
    data: dict[str, Any] = {
        "name": f"Offer {next(_seq)}",
        "points_cost": 100,
        "discount_type": vouchers.DiscountType.AMOUNT,
        "discount_value": Decimal(50000),
    } | fields
    return await vouchers.create_offer(vouchers.OfferData(**data))


def segment(label: str, weight: int, **kw: Any) -> spins.SegmentData:
    prize_fields = {
        k: kw.pop(k) for k in ("points", "voucher_offer_id", "spins", "badge_code") if k in kw
    }
    prize = spins.PrizeData(**prize_fields) if prize_fields else None
    return spins.SegmentData(label=label, weight=weight, prize=prize, **kw)


async def wheel(segments: list[spins.SegmentData], **fields: Any) -> SpinWheel:
    data: dict[str, Any] = {"name": f"Wheel {next(_seq)}", "segments": segments} | fields
    return await spins.create_wheel(spins.WheelData(**data))
