"""The voucher catalog: creating offers, who may see and claim them at what price, claiming
with points, granting as a reward, and redeeming a code at checkout.

Never over budget: a claim locks the member's row (so their per-member limit is counted
alone), debits the ledger, and takes one unit of stock with a conditional update
(`claimed < stock`, checked by the row count), all in one unit of work; any failure
rolls the whole claim back, debit included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from enum import Enum
from typing import Any

from tortoise.expressions import F, Q

from core import clock, ids, validation
from core.errors import (
    AlreadyRedeemed,
    Expired,
    IdempotencyConflict,
    InvalidInput,
    LimitReached,
    NotEligible,
    NotFound,
    OutOfStock,
)
from core.events import emit, unit_of_work
from members import segments
from members.models import Member
from rewards.ledger import service as ledger
from rewards.ledger.reasons import Reason
from rewards.tiers import service as tiers
from rewards.vouchers.models import Voucher, VoucherOffer

CODE_LENGTH = 12  # 25**12 ~ 6e16 codes: unguessable at any realistic redemption rate
CLAIM = "claim"
CENT = Decimal("0.01")


class DiscountType(Enum):
    AMOUNT = "AMOUNT"
    PERCENT = "PERCENT"


class VoucherStatus(Enum):
    ACTIVE = "ACTIVE"
    REDEEMED = "REDEEMED"
    EXPIRED = "EXPIRED"


@dataclass
class OfferData:
    name: str
    points_cost: int
    discount_type: DiscountType
    discount_value: Decimal
    description: str | None = None
    max_discount: Decimal | None = None
    min_order_amount: Decimal | None = None
    stock: int | None = None
    per_member_limit: int | None = 1
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    voucher_valid_days: int | None = 30
    hidden: bool = False
    tier_codes: list[str] | None = None
    segment_id: int | None = None


@dataclass
class Redemption:
    voucher: Voucher
    discount: Decimal
    duplicate: bool = False


@dataclass
class VoucherClaimed:
    """A member got a voucher: claimed with points, or granted as a reward (webhooks:
    voucher.claimed)."""

    member_id: int
    voucher_id: int
    code: str
    offer_id: int
    offer_name: str
    source: str
    points_spent: int
    expires_at: datetime
    at: datetime


@dataclass
class VoucherRedeemed:
    """A voucher was used on an order (webhooks: voucher.redeemed)."""

    member_id: int
    voucher_id: int
    code: str
    order_id: str
    order_amount: Decimal
    discount: Decimal
    at: datetime


@dataclass
class OfferView:
    """An offer as one member sees it: the model plus their price."""

    offer: VoucherOffer
    cost_for_me: int | None = None


# ---------------------------------------------------------------- admin


def _validate(data: OfferData) -> dict[str, Any]:
    name = validation.text(data.name, "name")
    description = (
        validation.text(data.description, "description", min_len=0, max_len=2000)
        if data.description is not None
        else None
    )
    validation.non_negative(data.points_cost, "points_cost")
    validation.positive(data.discount_value, "discount_value")
    if data.discount_type is DiscountType.PERCENT:
        validation.percent(data.discount_value, "discount_value")
    if data.max_discount is not None:
        validation.positive(data.max_discount, "max_discount")
    if data.min_order_amount is not None and data.min_order_amount < 0:
        raise InvalidInput("minOrderAmount must not be negative", "min_order_amount")
    if data.stock is not None:
        validation.non_negative(data.stock, "stock")
    if data.per_member_limit is None or data.per_member_limit < 1:
        raise InvalidInput("perMemberLimit must be at least 1", "per_member_limit")
    if data.voucher_valid_days is None or not 1 <= data.voucher_valid_days <= 3650:
        raise InvalidInput("voucherValidDays must be 1..3650", "voucher_valid_days")
    if data.valid_from and data.valid_until and data.valid_until <= data.valid_from:
        raise InvalidInput("validUntil must be after validFrom", "valid_until")
    tier_codes = None
    if data.tier_codes is not None:
        validation.capped_list(data.tier_codes, "tier_codes")
        tier_codes = sorted({validation.text(c, "tier_codes", max_len=32) for c in data.tier_codes})
    return {
        "name": name,
        "description": description,
        "points_cost": data.points_cost,
        "discount_type": data.discount_type.value,
        "discount_value": data.discount_value,
        "max_discount": data.max_discount,
        "min_order_amount": data.min_order_amount,
        "stock": data.stock,
        "per_member_limit": data.per_member_limit,
        "valid_from": data.valid_from,
        "valid_until": data.valid_until,
        "voucher_valid_days": data.voucher_valid_days,
        "hidden": data.hidden,
        "tier_codes": tier_codes,
        "segment_id": data.segment_id,
    }


async def create_offer(data: OfferData) -> VoucherOffer:
    values = _validate(data)
    if values["tier_codes"]:
        known = await tiers.tiers_by_code(values["tier_codes"])
        unknown = [c for c in values["tier_codes"] if c not in known]
        if unknown:
            raise NotFound(f"no tier {unknown[0]!r}", "tier_codes")
    if data.segment_id is not None:
        await segments.get_segment(data.segment_id)
    async with unit_of_work():
        return await VoucherOffer.create(**values, created_at=clock.now())


async def all_offers() -> list[VoucherOffer]:
    return await VoucherOffer.all().order_by("-id")


async def get_offer(offer_id: int, where: str = "offer_id") -> VoucherOffer:
    offer = await VoucherOffer.get_or_none(id=offer_id)
    if offer is None:
        raise NotFound("no voucher offer with this id", where)
    return offer


async def offers_by_id(offer_ids: list[int]) -> dict[int, VoucherOffer]:
    return {o.id: o for o in await VoucherOffer.filter(id__in=offer_ids)}


def stock_remaining(offer: VoucherOffer) -> int | None:
    return None if offer.stock is None else max(offer.stock - offer.claimed, 0)


# ---------------------------------------------------------------- what a member sees


def in_window(offer: VoucherOffer, at: datetime) -> bool:
    return (offer.valid_from is None or offer.valid_from <= at) and (
        offer.valid_until is None or at < offer.valid_until
    )


@dataclass
class Shopper:
    """A member with what their tier means for the catalog."""

    member: Member
    tier_code: str | None
    discount_percent: Decimal

    def price(self, offer: VoucherOffer) -> int:
        return price(offer.points_cost, self.discount_percent)


async def shopper(member: Member) -> Shopper:
    tier = (await tiers.status(member.id)).tier
    percent = Decimal(tier.voucher_discount_percent) if tier else Decimal(0)
    return Shopper(member, tier.code if tier else None, percent)


async def discount_percents(member_ids: list[int]) -> dict[int, Decimal]:
    """Each member's tier voucher discount (the pointsCostForMe DataLoader's fetch)."""
    return {
        member_id: Decimal(status.tier.voucher_discount_percent) if status.tier else Decimal(0)
        for member_id, status in (await tiers.statuses(member_ids)).items()
    }


async def targets(offer: VoucherOffer, who: Shopper) -> bool:
    """Tier and segment targeting (the window is checked apart)."""
    if offer.tier_codes is not None and who.tier_code not in offer.tier_codes:
        return False
    return offer.segment_id is None or await segments.contains(offer.segment_id, who.member.id)


def price(points_cost: int, discount_percent: Decimal) -> int:
    """The tier price: list price less the tier's percent, rounded up to whole points."""
    return math.ceil(Decimal(points_cost) * (Decimal(100) - discount_percent) / Decimal(100))


async def offers_for(member_id: int) -> list[OfferView]:
    """Listed offers the member is eligible for now, with their price."""
    who = await shopper(await Member.get(id=member_id))
    now = clock.now()
    candidates = (
        await VoucherOffer.filter(hidden=False)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=now))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        .order_by("-id")
    )
    return [OfferView(o, who.price(o)) for o in candidates if await targets(o, who)]


async def offer_for(member_id: int, offer_id: int) -> OfferView | None:
    """One offer, hidden ones included, when the member is eligible for it now."""
    offer = await VoucherOffer.get_or_none(id=offer_id)
    if offer is None or not in_window(offer, clock.now()):
        return None
    who = await shopper(await Member.get(id=member_id))
    return OfferView(offer, who.price(offer)) if await targets(offer, who) else None


# ---------------------------------------------------------------- claiming and granting


async def claim(member_id: int, offer_id: int) -> Voucher:
    """Buy a voucher with points at the member's tier price."""
    async with unit_of_work():
        # The member's row lock serializes their claims, so the limit count is exact.
        member = await Member.select_for_update().get_or_none(id=member_id)
        if member is None:
            raise NotFound("member not found")
        offer = await get_offer(offer_id)
        now = clock.now()
        if not in_window(offer, now):
            raise NotEligible("this offer is not open now", "offer_id")
        who = await shopper(member)
        if not await targets(offer, who):
            raise NotEligible("this offer is not for this member", "offer_id")
        claimed = await Voucher.filter(member_id=member_id, offer_id=offer_id, source=CLAIM).count()
        if claimed >= offer.per_member_limit:
            raise LimitReached(
                f"at most {offer.per_member_limit} per member for this offer", "offer_id"
            )
        if offer.stock is not None and offer.claimed >= offer.stock:
            raise OutOfStock("this offer is out of stock", "offer_id")
        cost = who.price(offer)
        if cost > 0:
            await ledger.debit(
                member_id, cost, Reason.VOUCHER, description=f"Voucher: {offer.name}"
            )
        return await _issue(member_id, offer, CLAIM, cost, now)


async def grant_voucher(member_id: int, offer_id: int, source: str) -> Voucher:
    """Give a voucher as a reward (mission, stamp card, spin): no points, no window or
    per-member limit, but the offer's stock still holds (OutOfStock, nothing written)."""
    async with unit_of_work():
        offer = await get_offer(offer_id)
        return await _issue(member_id, offer, source[:64], 0, clock.now())


async def _issue(
    member_id: int, offer: VoucherOffer, source: str, points: int, now: datetime
) -> Voucher:
    # The conditional update is the stock guard: concurrent claims queue on the offer row
    # and each re-checks `claimed < stock` on the committed value.
    taken = (
        await VoucherOffer.filter(id=offer.id)
        .filter(Q(stock__isnull=True) | Q(claimed__lt=F("stock")))
        .update(claimed=F("claimed") + 1)
    )
    if not taken:
        raise OutOfStock("this offer is out of stock", "offer_id")
    voucher = await Voucher.create(
        code=await _fresh_code(),
        offer_id=offer.id,
        member_id=member_id,
        source=source,
        points_spent=points,
        status=VoucherStatus.ACTIVE.value,
        claimed_at=now,
        expires_at=now + timedelta(days=offer.voucher_valid_days),
    )
    emit(
        VoucherClaimed(
            member_id,
            voucher.id,
            voucher.code,
            offer.id,
            offer.name,
            source,
            points,
            voucher.expires_at,
            now,
        )
    )
    return voucher


async def _fresh_code() -> str:
    for _ in range(5):
        code = ids.code(CODE_LENGTH)
        if not await Voucher.filter(code=code).exists():
            return code
    raise RuntimeError("could not draw an unused voucher code")  # 25**12 codes: unreachable


# ---------------------------------------------------------------- holding and redeeming


def status_of(voucher: Voucher, at: datetime) -> VoucherStatus:
    if voucher.status == VoucherStatus.REDEEMED.value:
        return VoucherStatus.REDEEMED
    return VoucherStatus.EXPIRED if voucher.expires_at <= at else VoucherStatus.ACTIVE


async def my_vouchers(member_id: int, status: VoucherStatus | None = None) -> list[Voucher]:
    now = clock.now()
    query = Voucher.filter(member_id=member_id)
    if status is VoucherStatus.REDEEMED:
        query = query.filter(status=VoucherStatus.REDEEMED.value)
    elif status is VoucherStatus.ACTIVE:
        query = query.filter(status=VoucherStatus.ACTIVE.value, expires_at__gt=now)
    elif status is VoucherStatus.EXPIRED:
        query = query.filter(status=VoucherStatus.ACTIVE.value, expires_at__lte=now)
    return await query.order_by("-claimed_at", "-id").limit(validation.MAX_LIST)


def normalize_code(code: str) -> str:
    """Codes are typed at tills: ignore case, spaces and dashes."""
    return "".join(ch for ch in code.upper() if ch not in " -")


async def find_by_code(code: str) -> Voucher | None:
    return await Voucher.get_or_none(code=normalize_code(code))


def discount_for(offer: VoucherOffer, order_amount: Decimal) -> Decimal:
    """What the voucher takes off an order: PERCENT capped by maxDiscount; never more
    than the order; cents rounded down (in the program's favour)."""
    value = Decimal(offer.discount_value)
    if offer.discount_type == DiscountType.PERCENT.value:
        value = order_amount * value / Decimal(100)
    if offer.max_discount is not None:
        value = min(value, Decimal(offer.max_discount))
    return min(value, order_amount).quantize(CENT, rounding=ROUND_DOWN)


async def redeem(code: str, order_id: str, order_amount: Decimal) -> Redemption:
    """Use a voucher on an order. A retry with the same code and orderId returns the first
    result; another order gets ALREADY_REDEEMED."""
    order_id = validation.text(order_id, "order_id", max_len=128)
    validation.positive(order_amount, "order_amount")
    async with unit_of_work():
        voucher = await find_by_code(code)
        if voucher is None:
            raise NotFound("no voucher with this code", "code")
        if voucher.status == VoucherStatus.REDEEMED.value:
            return _repeat(voucher, order_id, order_amount)
        now = clock.now()
        if voucher.expires_at <= now:
            raise Expired("this voucher has expired", "code")
        offer = await VoucherOffer.get(id=voucher.offer_id)
        if offer.min_order_amount is not None and order_amount < offer.min_order_amount:
            raise NotEligible(
                f"the order must be at least {offer.min_order_amount}", "order_amount"
            )
        discount = discount_for(offer, order_amount)
        used = await Voucher.filter(id=voucher.id, status=VoucherStatus.ACTIVE.value).update(
            status=VoucherStatus.REDEEMED.value,
            redeemed_at=now,
            order_id=order_id,
            order_amount=order_amount,
            discount=discount,
        )
        if not used:  # a concurrent redemption committed first
            return _repeat(await Voucher.get(id=voucher.id), order_id, order_amount)
        await voucher.refresh_from_db()
        emit(
            VoucherRedeemed(
                voucher.member_id, voucher.id, voucher.code, order_id, order_amount, discount, now
            )
        )
        return Redemption(voucher, discount)


def _repeat(voucher: Voucher, order_id: str, order_amount: Decimal) -> Redemption:
    if voucher.order_id != order_id:
        raise AlreadyRedeemed("this voucher was used already", "code")
    if voucher.order_amount is not None and Decimal(voucher.order_amount) != order_amount:
        raise IdempotencyConflict(
            "this voucher was redeemed on this order with another amount", "order_amount"
        )
    return Redemption(voucher, Decimal(voucher.discount or 0).quantize(CENT), duplicate=True)
