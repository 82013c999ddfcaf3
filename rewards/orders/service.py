"""Orders that earn points, and refunds that take them back in proportion.

`record_order` is idempotent on orderId (same member and amount: the first answer with
duplicate=True; other content: IDEMPOTENCY_CONFLICT). The Order row is inserted first in
the transaction, so a concurrent repeat blocks on its unique index and then replays.
`refund_order` is idempotent on refundId the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import ClassVar

from tortoise.exceptions import IntegrityError

from core import clock, sql, validation
from core.errors import IdempotencyConflict, InvalidInput, NotFound
from core.events import Buffer, buffer, emit, flush, raise_event, unit_of_work
from members import service as members
from members.program import get_program
from rewards import earning, member_state, referrals
from rewards.ledger import service as ledger
from rewards.ledger.reasons import Reason
from rewards.ledger.retry import retrying
from rewards.member_state import Peek
from rewards.orders.models import Order, OrderStatus, Refund
from rewards.tiers import service as tiers

__all__ = [
    "Order",
    "OrderCompleted",
    "OrderRefunded",
    "OrderResult",
    "OrderStatus",
    "RefundResult",
    "record_order",
    "refund_order",
]

MAX_AMOUNT = Decimal("1e15")
# As for actions: a till's clock may run a little ahead; a back office may catch up a year.
CLOCK_SKEW = timedelta(seconds=60)
MAX_BACKDATE = timedelta(days=366)


@dataclass
class OrderCompleted:
    """Raised inside the order's transaction (game counts it as the `order` action)."""

    member_id: int
    order_id: str
    amount: Decimal
    channel: str | None
    occurred_at: datetime


@dataclass
class OrderRefunded:
    """Part or all of an order was refunded (webhooks: order.refunded)."""

    member_id: int
    order_id: str
    refund_id: str
    amount: Decimal
    refunded_total: Decimal
    points_reversed: int
    fully_refunded: bool
    at: datetime


@dataclass
class OrderResult:
    order: Order
    points_earned: int
    tier_points_earned: int
    referral_points_awarded: int
    duplicate: bool


@dataclass
class RefundResult:
    order: Order
    points_reversed: int
    duplicate: bool


def order_points(
    amount: Decimal, earn_rate_percent: Decimal, point_value: Decimal, multiplier: Decimal
) -> int:
    """floor(amount x rate / 100 / pointValue x multiplier), exact, floored once at the end."""
    value = (
        Fraction(amount) * Fraction(earn_rate_percent) / 100 / Fraction(point_value)
    ) * Fraction(multiplier)
    return max(0, math.floor(value))


def tier_points_for(amount: Decimal, unit: Decimal) -> int:
    return max(0, math.floor(Fraction(amount) / Fraction(unit)))


def _money(value: Decimal, field: str) -> Decimal:
    if not value.is_finite() or value <= 0:
        raise InvalidInput("amount must be greater than 0", field)
    if value >= MAX_AMOUNT:
        raise InvalidInput("amount is too large", field)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and value != value.quantize(Decimal("0.01")):
        raise InvalidInput("amount has at most 2 decimal places", field)
    return value.quantize(Decimal("0.01"))


def _order_id(value: str, field: str = "order_id") -> str:
    return validation.text(value, field, max_len=128)


def _replay_order(order: Order, member_id: int, amount: Decimal) -> OrderResult:
    if order.member_id != member_id or Decimal(order.amount) != amount:
        raise IdempotencyConflict(
            "this orderId was recorded with another member or amount", "order_id"
        )
    return OrderResult(
        order=order,
        points_earned=order.points_earned,
        tier_points_earned=order.tier_points_earned,
        referral_points_awarded=order.referral_points_awarded,
        duplicate=True,
    )


async def record_order(
    order_id: str,
    member_external_id: str,
    amount: Decimal,
    occurred_at: datetime | None = None,
    channel: str | None = None,
) -> OrderResult:
    """Record a completed order once: points (pending per the program), tier points, events."""
    order_id = _order_id(order_id)
    amount = _money(amount, "amount")
    if channel is not None:
        channel = validation.text(channel, "channel", max_len=50)
    member_external_id = validation.text(member_external_id, "member_external_id", max_len=128)
    if occurred_at is not None:
        now = clock.now()
        if occurred_at > now + CLOCK_SKEW:
            raise InvalidInput("occurredAt cannot be in the future", "occurred_at")
        if occurred_at < now - MAX_BACKDATE:
            raise InvalidInput(
                f"occurredAt may be at most {MAX_BACKDATE.days} days ago", "occurred_at"
            )
    try:
        return await retrying(
            lambda: _record(order_id, member_external_id, amount, occurred_at, channel)
        )
    except IntegrityError:
        existing = await Order.get_or_none(order_id=order_id)
        if existing is None:
            raise
        member = await members.get_by_external_id(member_external_id)
        return _replay_order(existing, member.id, amount)


async def _record(
    order_id: str,
    external_id: str,
    amount: Decimal,
    occurred_at: datetime | None,
    channel: str | None,
) -> OrderResult:
    async with unit_of_work():
        state = await member_state.lock(
            external_id=external_id,
            peeks=[
                Peek("order", "SELECT id FROM orders WHERE order_id = $1", [order_id]),
                Peek("referred", "SELECT referred_by_id FROM member WHERE id = $m"),
            ],
            field_name="member_external_id",
        )
        if state.peeks["order"] is not None:
            existing = await Order.get(id=int(state.peeks["order"]))
            return _replay_order(existing, state.member_id, amount)
        now = clock.now()
        at = occurred_at or now
        program = await get_program()
        multiplier = await earning.multiplier(state, "order", at)
        points = order_points(amount, program.earn_rate_percent, program.point_value, multiplier)
        tier_points = tier_points_for(amount, program.tier_point_unit)
        order = Order(
            order_id=order_id,
            member_id=state.member_id,
            amount=amount,
            refunded_amount=Decimal(0),
            status=OrderStatus.COMPLETED.value,
            occurred_at=at,
            recorded_at=now,
            channel=channel,
            points_earned=points,
            tier_points_earned=tier_points,
            referral_points_awarded=0,
            points_reversed=0,
            tier_points_reversed=0,
        )
        # A repeated orderId of another member fails this insert (IntegrityError) at the
        # unit's end and replays in record_order.
        buffer(OrderWrites).orders.append(order)
        await tiers.add_tier_points(state.member_id, tier_points, at, f"order:{order_id}", order_id)
        if state.peeks["referred"] is not None:
            referee = await members.get_member(state.member_id)
            order.referral_points_awarded = await referrals.on_referee_order(
                referee, order_id, amount, at
            )
        await raise_event(OrderCompleted(state.member_id, order_id, amount, channel, at))
        if points > 0:
            await ledger.credit(
                state.member_id,
                points,
                Reason.ORDER,
                description=f"order {order_id}",
                order_id=order_id,
                pending_days=program.points_pending_days,
                program=program,
            )
        return OrderResult(
            order, points, tier_points, order.referral_points_awarded, duplicate=False
        )


class OrderWrites(Buffer):
    """The unit's new orders, inserted first (a taken orderId fails before the rest)."""

    order: ClassVar[int] = 10
    COLUMNS: ClassVar[list[tuple[str, str]]] = [
        ("order_id", "text"),
        ("member_id", "int"),
        ("amount", "numeric"),
        ("occurred_at", "timestamp"),
        ("recorded_at", "timestamp"),
        ("channel", "text"),
        ("points_earned", "int"),
        ("tier_points_earned", "int"),
        ("referral_points_awarded", "int"),
    ]

    def __init__(self) -> None:
        self.orders: list[Order] = []

    async def flush(self) -> list[sql.Statement] | None:
        if not self.orders:
            return None
        names = [n for n, _ in self.COLUMNS]
        source, params = sql.values(
            self.COLUMNS, [tuple(getattr(o, n) for n in names) for o in self.orders], 1
        )
        return [
            (
                f"INSERT INTO orders ({', '.join(names)}, refunded_amount, status, points_reversed,"
                f" tier_points_reversed) SELECT {', '.join(names)}, 0, 'COMPLETED', 0, 0"
                f" FROM ({source}) AS v",
                params,
            )
        ]


def _replay_refund(refund: Refund, order: Order, requested: Decimal | None) -> RefundResult:
    same_amount = (refund.requested_amount is None and requested is None) or (
        refund.requested_amount is not None
        and requested is not None
        and Decimal(refund.requested_amount) == requested
    )
    if refund.order_id != order.id or not same_amount:
        raise IdempotencyConflict("this refundId was used for another order or amount", "refund_id")
    return RefundResult(order=order, points_reversed=refund.points_reversed, duplicate=True)


def reversed_so_far(earned: int, amount: Decimal, refunded: Decimal) -> int:
    """Points of an order reversed once `refunded` of it is refunded: what the kept part
    would not have earned (rounded in the program's favour, all of it at a full refund)."""
    kept = math.floor(Fraction(earned) * (Fraction(amount) - Fraction(refunded)) / Fraction(amount))
    return earned - kept


async def refund_order(order_id: str, refund_id: str, amount: Decimal | None) -> RefundResult:
    order_id = _order_id(order_id)
    refund_id = validation.text(refund_id, "refund_id", max_len=128)
    requested = _money(amount, "amount") if amount is not None else None
    try:
        return await retrying(lambda: _refund(order_id, refund_id, requested))
    except IntegrityError:
        existing = await Refund.get_or_none(refund_id=refund_id)
        order = await Order.get_or_none(order_id=order_id)
        if existing is None or order is None:
            raise
        return _replay_refund(existing, order, requested)


async def _refund(order_id: str, refund_id: str, requested: Decimal | None) -> RefundResult:
    async with unit_of_work():
        # The row lock serialises refunds of one order (SQLite serialises writers anyway).
        order = await Order.filter(order_id=order_id).select_for_update().first()
        if order is None:
            raise NotFound(f"no order {order_id!r}", "order_id")
        existing = await Refund.get_or_none(refund_id=refund_id)
        if existing is not None:
            return _replay_refund(existing, order, requested)
        total = Decimal(order.amount)
        remaining = total - Decimal(order.refunded_amount)
        refund_amount = requested if requested is not None else remaining
        if refund_amount <= 0:
            raise InvalidInput("the order is refunded in full already", "amount")
        if refund_amount > remaining:
            raise InvalidInput(f"at most {remaining} of this order remains", "amount")
        refunded = Decimal(order.refunded_amount) + refund_amount
        points = reversed_so_far(order.points_earned, total, refunded) - order.points_reversed
        # Points of this order that expired are gone already: never take them twice.
        expired = await ledger.expired_of_order(order.member_id, order_id)
        points = max(0, min(points, order.points_earned - expired - order.points_reversed))
        tier_points = (
            reversed_so_far(order.tier_points_earned, total, refunded) - order.tier_points_reversed
        )
        now = clock.now()
        refund = await Refund.create(
            refund_id=refund_id,
            order_id=order.id,
            requested_amount=requested,
            amount=refund_amount,
            points_reversed=points,
            tier_points_reversed=tier_points,
            created_at=now,
        )
        await ledger.reverse(order.member_id, order_id, points, f"refund {refund_id}")
        member = await members.get_member(order.member_id, include_erased=True)
        await earning.on_order_refunded(member, order_id, refund_amount, tier_points, now)
        await flush()
        order.refunded_amount = refunded
        order.points_reversed += points
        order.tier_points_reversed += tier_points
        order.status = (
            OrderStatus.REFUNDED.value
            if refunded >= total
            else OrderStatus.PARTIALLY_REFUNDED.value
        )
        await order.save(
            update_fields=[
                "refunded_amount",
                "points_reversed",
                "tier_points_reversed",
                "status",
            ]
        )
        emit(
            OrderRefunded(
                order.member_id,
                order_id,
                refund_id,
                refund_amount,
                refunded,
                points,
                refunded >= total,
                now,
            )
        )
        return RefundResult(order=order, points_reversed=refund.points_reversed, duplicate=False)
