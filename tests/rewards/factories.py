"""Builders for the rewards tests, through the domain functions: tiers, the program,
members (enrolled for real), orders and refunds, promotions, members holding points,
voucher offers and spin wheels."""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.settings import Settings
from members.models import Member
from members.program import ProgramChanges, update_program
from rewards import promotions
from rewards.ledger import service as ledger
from rewards.ledger.reasons import Reason
from rewards.orders import service as orders
from rewards.promotions import Promotion
from rewards.spin_wheel import service as spins
from rewards.spin_wheel.models import SpinWheel
from rewards.tiers import service as tiers
from rewards.tiers.models import Tier
from rewards.vouchers import service as vouchers
from rewards.vouchers.models import VoucherOffer
from tests import factories

_seq = itertools.count(1)


async def standard_tiers() -> dict[str, Tier]:
    """Member 0, Silver 100 (x1.0), Gold 300 (x1.5, 5% voucher discount)."""
    return {
        "MEMBER": await tiers.upsert_tier(tiers.TierData("MEMBER", "Member", 0)),
        "SILVER": await tiers.upsert_tier(tiers.TierData("SILVER", "Silver", 100)),
        "GOLD": await tiers.upsert_tier(
            tiers.TierData(
                "GOLD",
                "Gold",
                300,
                earn_multiplier=Decimal("1.5"),
                voucher_discount_percent=Decimal(5),
                price_list_code="GOLD-PRICES",
                perks=["free delivery"],
            )
        ),
    }


async def program(**changes: Any) -> None:
    await update_program(ProgramChanges(**changes))


async def enrol(**fields: Any) -> Member:
    n = next(_seq)
    return await factories.member(
        **{"external_id": f"t-{n}", "display_name": f"Trần Thị {n}"} | fields
    )


async def member_with(points: int, **fields: Any) -> Member:
    """A member holding `points` spendable points."""
    m = await factories.member(**fields)
    if points:
        await ledger.credit(m.id, points, Reason.ADJUSTMENT, description="test funds")
    return m


async def token_with(points: int, settings: Settings, **fields: Any) -> tuple[Member, str]:
    m = await member_with(points, **fields)
    return m, factories.token_for(m, settings)


async def order(
    member: Member, amount: int | str, order_id: str | None = None, **kw: Any
) -> orders.OrderResult:
    order_id = order_id or f"o-{next(_seq)}"
    return await orders.record_order(order_id, member.external_id, Decimal(amount), **kw)


async def refund(order_id: str, amount: int | str | None = None) -> orders.RefundResult:
    return await orders.refund_order(
        order_id, f"r-{next(_seq)}", Decimal(amount) if amount is not None else None
    )


async def promotion(
    multiplier: str, starts_at: datetime, ends_at: datetime, **kw: Any
) -> Promotion:
    return await promotions.create_promotion(
        promotions.PromotionData(
            name=f"promo {next(_seq)}",
            multiplier=Decimal(multiplier),
            starts_at=starts_at,
            ends_at=ends_at,
            **kw,
        )
    )


async def offer(**fields: Any) -> VoucherOffer:
    data: dict[str, Any] = {
        "name": f"Offer {next(_seq)}",
        "points_cost": 100,
        "discount_type": vouchers.DiscountType.AMOUNT,
        "discount_value": Decimal(50000),
    } | fields
    return await vouchers.create_offer(vouchers.OfferData(**data))


def segment(label: str, weight: int, **kw: Any) -> spins.SegmentData:
    """A wheel's segment; points, voucher_offer_id, spins or badge_code make its prize."""
    prize_fields = {
        k: kw.pop(k) for k in ("points", "voucher_offer_id", "spins", "badge_code") if k in kw
    }
    prize = spins.PrizeData(**prize_fields) if prize_fields else None
    return spins.SegmentData(label=label, weight=weight, prize=prize, **kw)


async def wheel(segments: list[spins.SegmentData], **fields: Any) -> SpinWheel:
    data: dict[str, Any] = {"name": f"Wheel {next(_seq)}", "segments": segments} | fields
    return await spins.create_wheel(spins.WheelData(**data))
