"""Crediting and debiting members' points, lot by lot, and reading their balances.

`credit` draws on the issuance budget, repays a negative balance first and makes a lot;
`debit` refuses to overdraw (check and debit in one conditional UPDATE) and consumes the
oldest lots first; `reverse` claws an order's points back for a refund, pending first,
and may leave the balance negative. Each emits PointsChanged after commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.functions import Sum

from core import clock
from core.errors import BudgetExhausted, InsufficientPoints, InvalidInput
from core.events import emit, unit_of_work
from members.models import Program
from members.program import get_program
from rewards.ledger import accounts
from rewards.ledger.events import PointsChanged
from rewards.ledger.models import Account, AccountKind, Lot, LotState, Posting
from rewards.ledger.reasons import Reason

EARNING = frozenset(
    {
        Reason.ORDER,
        Reason.ACTION,
        Reason.MISSION,
        Reason.SPIN,
        Reason.WELCOME,
        Reason.BIRTHDAY,
        Reason.REFERRAL,
        Reason.PROMOTION,
        Reason.ADJUSTMENT,
    }
)
EXPIRING_SOON = timedelta(days=30)


@dataclass(frozen=True)
class Balances:
    available: int = 0
    pending: int = 0
    lifetime: int = 0
    expiring_soon: int = 0


def _sink(reason: Reason) -> str:
    """Where debited points go: back to the budget, to expiry, or to redemptions."""
    if reason in (Reason.REFUND, Reason.ADJUSTMENT):
        return accounts.ISSUANCE
    if reason is Reason.EXPIRY:
        return accounts.EXPIRED
    return accounts.REDEEMED


async def _draw_budget(points: int) -> None:
    if await accounts.take(accounts.ISSUANCE, points):
        return
    # The accounts may not exist yet, or a concurrent transaction may be creating them:
    # ensure_system() waits for that insert (unique key) and the second take sees its row.
    await accounts.ensure_system()
    if not await accounts.take(accounts.ISSUANCE, points):
        raise BudgetExhausted("the issuance budget does not cover these points")


async def credit(
    member_id: int,
    points: int,
    reason: Reason,
    *,
    description: str | None = None,
    order_id: str | None = None,
    pending_days: int = 0,
    program: Program | None = None,
) -> Posting:
    """Give a member points from the issuance budget (BudgetExhausted: nothing written).

    `program` saves a query when the caller has read it already.
    """
    if points <= 0:
        raise InvalidInput("points must be greater than 0", "input.points")
    async with unit_of_work():
        now = clock.now()
        program = program or await get_program()
        if pending_days > 0:
            before = await accounts.lock_member(member_id)
            debt = max(0, -before)
            to_available = min(debt, points)  # later earnings repay a negative balance first
            to_pending = points - to_available
            if to_available:
                await accounts.add(accounts.available(member_id), to_available)
            if to_pending:
                await accounts.add(accounts.pending(member_id), to_pending)
        else:
            # The increment takes the row lock; the balance read after it tells the debt.
            to_available, to_pending = points, 0
            before = await accounts.add_to_member(member_id, points) - points
            debt = max(0, -before)
        await _draw_budget(points)
        expires_at = (
            now + timedelta(days=program.points_expiry_days) if program.points_expiry_days else None
        )
        earned = points if reason in EARNING else 0
        main: Posting | None = None
        if to_available:
            main = await accounts.post(
                accounts.ISSUANCE,
                accounts.available(member_id),
                to_available,
                reason,
                member_id=member_id,
                delta=to_available,
                earned=to_available if earned else 0,
                description=description,
                order_id=order_id,
                at=now,
                available_at=now,
                expires_at=expires_at,
            )
            lot_points = to_available - min(to_available, debt)
            if lot_points:
                await _make_lot(main, lot_points, reason, LotState.AVAILABLE)
        if to_pending:
            available_at = now + timedelta(days=pending_days)
            main = await accounts.post(
                accounts.ISSUANCE,
                accounts.pending(member_id),
                to_pending,
                reason,
                member_id=member_id,
                delta=to_pending,
                earned=to_pending if earned else 0,
                description=description,
                order_id=order_id,
                at=now,
                available_at=available_at,
                expires_at=expires_at,
            )
            await _make_lot(main, to_pending, reason, LotState.PENDING)
        assert main is not None
        emit(
            PointsChanged(
                member_id=member_id,
                balance=before + to_available,
                delta=points,
                reason=reason,
                at=now,
                earned=earned,
            )
        )
        return main


async def _make_lot(posting: Posting, points: int, reason: Reason, state: LotState) -> Lot:
    assert posting.member_id is not None and posting.available_at is not None
    return await Lot.create(
        member_id=posting.member_id,
        posting_id=posting.id,
        order_id=posting.order_id,
        reason=reason.value,
        points=points,
        remaining=points,
        state=state.value,
        earned_at=posting.created_at,
        available_at=posting.available_at,
        expires_at=posting.expires_at,
    )


async def consume_lots(
    member_id: int, points: int, state: LotState, *, order_id: str | None = None
) -> int:
    """Take up to `points` from the member's oldest lots; return how many were taken.

    The caller holds the member's account lock, so no other writer touches these lots.
    """
    query = Lot.filter(member_id=member_id, state=state.value, remaining__gt=0)
    if order_id is not None:
        query = query.filter(order_id=order_id)
    taken = 0
    for lot in await query.order_by("earned_at", "id"):
        if taken >= points:
            break
        part = min(lot.remaining, points - taken)
        await Lot.filter(id=lot.id).update(remaining=lot.remaining - part)
        taken += part
    return taken


async def debit(
    member_id: int,
    points: int,
    reason: Reason,
    *,
    description: str | None = None,
    order_id: str | None = None,
) -> Posting:
    """Spend a member's points (InsufficientPoints when the available balance is short)."""
    if points <= 0:
        raise InvalidInput("points must be greater than 0", "input.points")
    async with unit_of_work():
        now = clock.now()
        key = accounts.available(member_id)
        if not await accounts.take(key, points):
            raise InsufficientPoints(
                f"the member has fewer than {points} spendable points", "input.points"
            )
        await consume_lots(member_id, points, LotState.AVAILABLE)
        sink = _sink(reason)
        await accounts.ensure_system()
        await accounts.add(sink, points)
        posting = await accounts.post(
            key,
            sink,
            points,
            reason,
            member_id=member_id,
            delta=-points,
            description=description,
            order_id=order_id,
            at=now,
        )
        emit(
            PointsChanged(
                member_id=member_id,
                balance=await accounts.balance(key),
                delta=-points,
                reason=reason,
                at=now,
                earned=0,
            )
        )
        return posting


async def expired_of_order(member_id: int, order_id: str) -> int:
    """Points of an order's lots that expired before anyone spent or reversed them."""
    lots = await Lot.filter(member_id=member_id, order_id=order_id).only("expired")
    return sum(lot.expired for lot in lots)


async def reverse(member_id: int, order_id: str, points: int, description: str) -> int:
    """Claw back `points` of an order for a refund: its pending lots first, then available.

    The available balance may go negative (spent points); it blocks spending until later
    earnings repay it. Returns the points reversed.
    """
    if points <= 0:
        return 0
    async with unit_of_work():
        now = clock.now()
        before = await accounts.lock_member(member_id)
        from_pending = await consume_lots(member_id, points, LotState.PENDING, order_id=order_id)
        rest = points - from_pending
        await accounts.ensure_system()
        if from_pending:
            await accounts.add(accounts.pending(member_id), -from_pending)
            await accounts.post(
                accounts.pending(member_id),
                accounts.ISSUANCE,
                from_pending,
                Reason.REFUND,
                member_id=member_id,
                delta=-from_pending,
                earned=-from_pending,
                description=description,
                order_id=order_id,
                at=now,
            )
        if rest:
            await accounts.add(accounts.available(member_id), -rest)
            await consume_lots(member_id, rest, LotState.AVAILABLE)
            await accounts.post(
                accounts.available(member_id),
                accounts.ISSUANCE,
                rest,
                Reason.REFUND,
                member_id=member_id,
                delta=-rest,
                earned=-rest,
                description=description,
                order_id=order_id,
                at=now,
            )
        await accounts.add(accounts.ISSUANCE, points)
        emit(
            PointsChanged(
                member_id=member_id,
                balance=before - rest,
                delta=-points,
                reason=Reason.REFUND,
                at=now,
                earned=-points,
            )
        )
        return points


async def balances(member_ids: list[int]) -> dict[int, Balances]:
    """Available, pending, lifetime and expiring-soon points of each member (3 queries)."""
    ids = list(set(member_ids))
    found: dict[int, dict[str, int]] = {m: {} for m in ids}
    if not ids:
        return {}
    for row in await Account.filter(member_id__in=ids).values("member_id", "kind", "balance"):
        kind = "available" if row["kind"] == AccountKind.AVAILABLE.value else "pending"
        found[row["member_id"]][kind] = int(row["balance"])
    for row in (
        await Posting.filter(member_id__in=ids)
        .annotate(total=Sum("earned"))
        .group_by("member_id")
        .values("member_id", "total")
    ):
        found[row["member_id"]]["lifetime"] = int(row["total"] or 0)
    horizon = clock.now() + EXPIRING_SOON
    for row in (
        await Lot.filter(member_id__in=ids, remaining__gt=0, expires_at__lte=horizon)
        .annotate(total=Sum("remaining"))
        .group_by("member_id")
        .values("member_id", "total")
    ):
        found[row["member_id"]]["expiring_soon"] = int(row["total"] or 0)
    return {m: Balances(**values) for m, values in found.items()}


async def balance_of(member_id: int) -> Balances:
    return (await balances([member_id]))[member_id]


async def available_at(member_id: int) -> datetime | None:
    """When the member's next pending lot becomes spendable (None if none)."""
    lot = (
        await Lot.filter(member_id=member_id, state=LotState.PENDING.value, remaining__gt=0)
        .order_by("available_at")
        .first()
    )
    return lot.available_at if lot else None
