"""The integration's redeemPoints and the admin's adjustPoints, idempotent on their key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tortoise.exceptions import IntegrityError

from core import clock, validation
from core.errors import InvalidInput
from core.events import emit, flush, unit_of_work
from members import service as members
from members.models import Member
from members.program import get_program
from rewards.ledger import idempotency, service
from rewards.ledger.models import IdempotencyRecord, Posting
from rewards.ledger.reasons import Reason
from rewards.ledger.retry import retrying

KEY_FIELD = "idempotency_key"
CENTS = Decimal("0.01")


@dataclass
class Redemption:
    discount: Decimal
    member: Member


@dataclass
class PointsRedeemed:
    """Points turned into a discount on an order (webhooks: points.redeemed)."""

    member_id: int
    points: int
    order_id: str
    discount: Decimal
    at: datetime


@dataclass
class Adjustment:
    entry: Posting
    member: Member


async def _replayed(kind: str, key: str, digest: str) -> IdempotencyRecord | None:
    return await idempotency.find(kind, key, digest, KEY_FIELD)


async def redeem_points(
    member_external_id: str, points: int, order_id: str, key: str
) -> Redemption:
    """Turn points into a discount of points x pointValue (INSUFFICIENT_POINTS: nothing)."""
    if points <= 0:
        raise InvalidInput("points must be greater than 0", "points")
    order_id = validation.text(order_id, "order_id", max_len=128)
    key = validation.text(key, KEY_FIELD, max_len=200)
    member = await members.get_by_external_id(member_external_id)
    digest = idempotency.fingerprint(member.id, points, order_id)

    async def write() -> Redemption:
        async with unit_of_work():
            stored = await _replayed("redeem", key, digest)
            if stored is not None:
                return _redemption(stored, member)
            record = await idempotency.claim("redeem", key, digest)
            program = await get_program()
            await service.debit(
                member.id,
                points,
                Reason.REDEMPTION,
                description=f"redeemed on order {order_id}",
                order_id=order_id,
            )
            discount = (Decimal(points) * Decimal(program.point_value)).quantize(CENTS)
            await idempotency.store(record, {"discount": str(discount)})
            emit(PointsRedeemed(member.id, points, order_id, discount, clock.now()))
            return Redemption(discount=discount, member=member)

    try:
        return await retrying(write)
    except IntegrityError:
        stored = await _replayed("redeem", key, digest)
        if stored is None:
            raise
        return _redemption(stored, member)


def _redemption(record: IdempotencyRecord, member: Member) -> Redemption:
    return Redemption(discount=Decimal(record.result["discount"]), member=member)


async def adjust_points(member_external_id: str, points: int, reason: str, key: str) -> Adjustment:
    """Admin credit (drawing on the budget) or debit (never below zero) with a reason."""
    if points == 0:
        raise InvalidInput("points must not be 0", "points")
    reason = validation.text(reason, "reason", max_len=200)
    key = validation.text(key, KEY_FIELD, max_len=200)
    member = await members.get_by_external_id(member_external_id)
    digest = idempotency.fingerprint(member.id, points, reason)

    async def write() -> Adjustment:
        async with unit_of_work():
            stored = await _replayed("adjust", key, digest)
            if stored is not None:
                return await _adjustment(stored, member)
            record = await idempotency.claim("adjust", key, digest)
            if points > 0:
                drafted = await service.credit(
                    member.id, points, Reason.ADJUSTMENT, description=reason, want_id=True
                )
                await flush()
                entry = await Posting.get(id=drafted.posting_id)
            else:
                entry = await service.debit(
                    member.id, -points, Reason.ADJUSTMENT, description=reason
                )
            await idempotency.store(record, {"posting_id": entry.id})
            return Adjustment(entry=entry, member=member)

    try:
        return await retrying(write)
    except IntegrityError:
        stored = await _replayed("adjust", key, digest)
        if stored is None:
            raise
        return await _adjustment(stored, member)


async def _adjustment(record: IdempotencyRecord, member: Member) -> Adjustment:
    return Adjustment(entry=await Posting.get(id=record.result["posting_id"]), member=member)
