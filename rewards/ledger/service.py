"""Crediting and debiting members' points, lot by lot, and reading their balances.

`credit` drafts a credit in the current unit of work: it repays a negative balance first,
makes a lot, moves the balances in the member's locked state and raises PointsChanged;
`LedgerWrites` writes every credit of the unit at its end in one statement per table (the
draw on the issuance shards, the member accounts, the postings, the lots), so a write that
credits several rewards costs the same statements as one that credits one.
`debit` refuses to overdraw (check and debit in one conditional UPDATE) and consumes the
oldest lots first; `reverse` claws an order's points back for a refund, pending first, and
may leave the balance negative. Both write at once (they are not the hot path).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from tortoise.functions import Sum

from core import clock, ids, sql
from core.errors import BudgetExhausted, InsufficientPoints, InvalidInput, LimitReached
from core.events import Buffer, buffer, emit, flush, unit_of_work
from members.models import Program
from members.program import get_program
from rewards import member_state
from rewards.ledger import accounts
from rewards.ledger.events import PointsChanged
from rewards.ledger.models import Account, AccountKind, Lot, LotState, Posting
from rewards.ledger.reasons import Reason
from rewards.ledger.retry import ShardShort, optimistic

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
# Balances are GraphQL Ints (32-bit): a credit past this is refused, never stored.
MAX_BALANCE = 2**31 - 1


@dataclass(frozen=True)
class Balances:
    available: int = 0
    pending: int = 0
    lifetime: int = 0
    expiring_soon: int = 0


@dataclass
class Credit:
    """One credit drafted in a unit of work; `posting_id` is known once it was written
    (only for credits drafted with `want_id`)."""

    member_id: int
    points: int
    reason: Reason
    description: str | None
    order_id: str | None
    at: datetime
    expires_at: datetime | None
    earned: int
    to_available: int
    to_pending: int
    available_lot: int  # what of to_available makes a lot (the rest repaid a debt)
    available_at: datetime
    ref: str | None = None
    posting_id: int | None = None


def _sink(reason: Reason) -> str | None:
    """Where debited points go: back to the budget (None: the member's shard), to expiry,
    or to redemptions."""
    if reason in (Reason.REFUND, Reason.ADJUSTMENT):
        return None
    if reason is Reason.EXPIRY:
        return accounts.EXPIRED
    return accounts.REDEEMED


async def credit(
    member_id: int,
    points: int,
    reason: Reason,
    *,
    description: str | None = None,
    order_id: str | None = None,
    pending_days: int = 0,
    program: Program | None = None,
    want_id: bool = False,
) -> Credit:
    """Give a member points from the issuance budget, written when the unit ends
    (BudgetExhausted then, and nothing is written; LimitReached past the Int range)."""
    if points <= 0:
        raise InvalidInput("points must be greater than 0", "points")
    async with unit_of_work():
        state = await member_state.lock(member_id)
        now = clock.now()
        program = program or await get_program()
        debt = max(0, -state.available)
        if pending_days > 0:
            to_available = min(debt, points)  # later earnings repay a negative balance first
            to_pending = points - to_available
        else:
            to_available, to_pending = points, 0
        if (
            state.available + to_available > MAX_BALANCE
            or state.pending + to_pending > MAX_BALANCE
            or state.lifetime + points > MAX_BALANCE
        ):
            raise LimitReached(f"the member's balance cannot exceed {MAX_BALANCE} points", "points")
        expires_at = (
            now + timedelta(days=program.points_expiry_days) if program.points_expiry_days else None
        )
        earned = points if reason in EARNING else 0
        drafted = Credit(
            member_id=member_id,
            points=points,
            reason=reason,
            description=description,
            order_id=order_id,
            at=now,
            expires_at=expires_at,
            earned=earned,
            to_available=to_available,
            to_pending=to_pending,
            available_lot=to_available - min(to_available, debt),
            available_at=now + timedelta(days=pending_days),
            ref=f"id:{ids.token(12)}" if want_id else None,
        )
        buffer(LedgerWrites).credits.append(drafted)
        state.available += to_available
        state.pending += to_pending
        state.lifetime += earned
        state.touch()
        emit(
            PointsChanged(
                member_id=member_id,
                balance=state.available,
                delta=points,
                reason=reason,
                at=now,
                earned=earned,
            )
        )
        return drafted


class LedgerWrites(Buffer):
    """The unit's credits: one UPDATE moves the member accounts and draws on the issuance
    shards; the postings and lots go with the unit's other writes."""

    order: ClassVar[int] = 50

    def __init__(self) -> None:
        self.credits: list[Credit] = []

    async def flush(self) -> Sequence[sql.Statement | sql.Checked] | None:
        if not self.credits:
            return None
        await _lock_shards(self.credits)
        if optimistic.get() and not any(c.ref for c in self.credits):
            # One statement fewer: the draw goes with the unit's last writes; a short shard
            # fails them all (ShardShort), and the write runs again carefully.
            moves = _moves(self.credits)
            source, params = sql.values(
                [("key", "text"), ("delta", "int")], sorted(moves.items()), 1
            )
            draw = sql.Checked(
                _MOVE.format(source=source) + " RETURNING ledger_account.key",
                params,
                len(moves),
                ShardShort(),
            )
            sources = [accounts.issuance_of(c.member_id) for c in self.credits]
            return [draw, _postings(self.credits, sources), *_lots(self.credits)]
        sources = await _move_balances(self.credits)
        postings = _postings(self.credits, sources)
        if any(c.ref for c in self.credits):
            # A caller that needs its posting's id (adjustPoints) tells it apart by a ref.
            inserted = await sql.rows(postings[0] + " RETURNING id, ref", postings[1])
            by_ref = {r["ref"]: int(r["id"]) for r in inserted if r["ref"]}
            for c in self.credits:
                if c.ref:
                    c.posting_id = by_ref.get(c.ref)
            return _lots(self.credits)
        return [postings, *_lots(self.credits)]


async def _lock_shards(credits: list[Credit]) -> None:
    """A unit crediting members of several shards (a batch of actions) locks those shards
    first, in key order: two such units would otherwise lock them in whatever order their
    UPDATE met them, and deadlock (PostgreSQL finds it only after deadlock_timeout)."""
    shards = sorted({accounts.issuance_of(c.member_id) for c in credits})
    if len(shards) > 1 and sql.dialect() == "postgres":
        where, params = sql.id_list(shards, 1, "text")
        await sql.rows(
            f"SELECT key FROM ledger_account WHERE key {where} ORDER BY key FOR UPDATE", params
        )


def _moves(credits: list[Credit]) -> dict[str, int]:
    """How each account moves: the member accounts up, each member's issuance shard down."""
    moves: dict[str, int] = defaultdict(int)
    for c in credits:
        moves[accounts.issuance_of(c.member_id)] -= c.points
        if c.to_available:
            moves[accounts.available(c.member_id)] += c.to_available
        if c.to_pending:
            moves[accounts.pending(c.member_id)] += c.to_pending
    return moves


# Moves every account of `v` in one statement; a shard (negative delta) only if it covers it.
_MOVE = (
    "UPDATE ledger_account SET balance = ledger_account.balance + v.delta"
    " FROM ({source}) AS v WHERE ledger_account.key = v.key"
    " AND (v.delta >= 0 OR ledger_account.balance >= -v.delta)"
)


async def _move_balances(credits: list[Credit]) -> list[str]:
    """ONE statement: credit the member accounts and take the points from each member's
    issuance shard, a shard only if it covers them. A shard that ran short is helped by the
    others. Returns each credit's source account."""
    moves = _moves(credits)
    source, params = sql.values([("key", "text"), ("delta", "int")], sorted(moves.items()), 1)
    moved = await sql.rows(_MOVE.format(source=source) + " RETURNING ledger_account.key", params)
    done = {r["key"] for r in moved}
    missing = [(k, d) for k, d in moves.items() if d > 0 and k not in done]
    if missing:  # a member from before accounts were made at enrolment: make them now
        for member_id in {c.member_id for c in credits}:
            await member_state.create(member_id)
        for key, delta in missing:
            await accounts.add(key, delta)
    sources = [accounts.issuance_of(c.member_id) for c in credits]
    for n, c in enumerate(credits):
        if sources[n] not in done:
            sources[n] = await _draw_elsewhere(c.points)
    return sources


async def _draw_elsewhere(points: int) -> str:
    """A credit whose shard is short: take it from the richest shard, spreading the budget
    over the shards first if no single one covers it."""
    spread = False
    while True:
        found = await sql.row(
            "UPDATE ledger_account SET balance = balance - $1 WHERE key = ("
            "SELECT key FROM ledger_account WHERE kind = 'ISSUANCE' AND balance >= $1"
            " ORDER BY balance DESC, key LIMIT 1) AND balance >= $1 RETURNING key",
            [points],
        )
        if found is not None:
            return str(found["key"])
        if not await Account.filter(key=accounts.SHARDS[-1]).exists():
            await accounts.ensure_system()  # a fresh ledger: the first credit creates them
        elif not spread and await accounts.remaining_budget() >= points:
            await accounts.rebalance(need=points)
            spread = True
        else:
            raise BudgetExhausted("the issuance budget does not cover these points")


POSTING_COLUMNS = [
    ("debit_account_id", "text"),
    ("credit_account_id", "text"),
    ("amount", "int"),
    ("reason", "text"),
    ("description", "text"),
    ("order_id", "text"),
    ("member_id", "int"),
    ("delta", "int"),
    ("earned", "int"),
    ("created_at", "timestamp"),
    ("available_at", "timestamp"),
    ("expires_at", "timestamp"),
    ("ref", "text"),
]
_NAMES = ", ".join(name for name, _ in POSTING_COLUMNS)


def _postings(credits: list[Credit], sources: list[str]) -> sql.Statement:
    rows = []
    for c, source_account in zip(credits, sources, strict=True):
        # A credit into both accounts (a debt repaid, the rest pending) is two postings.
        parts = [
            (accounts.available(c.member_id), c.to_available, c.at),
            (accounts.pending(c.member_id), c.to_pending, c.available_at),
        ]
        parts = [p for p in parts if p[1]]
        for n, (target, points, available_at) in enumerate(parts):
            rows.append(
                (
                    source_account,
                    target,
                    points,
                    c.reason.value,
                    c.description,
                    c.order_id,
                    c.member_id,
                    points,
                    points if c.earned else 0,
                    c.at,
                    available_at,
                    c.expires_at,
                    c.ref if n == len(parts) - 1 else None,
                )
            )
    source, params = sql.values(POSTING_COLUMNS, rows, 1)
    return (
        f"INSERT INTO ledger_posting ({_NAMES}, earned_at, internal)"
        f" SELECT {_NAMES}, created_at, FALSE FROM ({source}) AS v",
        params,
    )


LOT_COLUMNS = [
    ("member_id", "int"),
    ("order_id", "text"),
    ("reason", "text"),
    ("points", "int"),
    ("state", "text"),
    ("earned_at", "timestamp"),
    ("available_at", "timestamp"),
    ("expires_at", "timestamp"),
]
_LOT_NAMES = ", ".join(name for name, _ in LOT_COLUMNS)


def _lots(credits: list[Credit]) -> list[sql.Statement]:
    rows = []
    for c in credits:
        if c.available_lot:
            rows.append(
                (
                    c.member_id,
                    c.order_id,
                    c.reason.value,
                    c.available_lot,
                    LotState.AVAILABLE.value,
                    c.at,
                    c.at,
                    c.expires_at,
                )
            )
        if c.to_pending:
            rows.append(
                (
                    c.member_id,
                    c.order_id,
                    c.reason.value,
                    c.to_pending,
                    LotState.PENDING.value,
                    c.at,
                    c.available_at,
                    c.expires_at,
                )
            )
    if not rows:
        return []
    source, params = sql.values(LOT_COLUMNS, rows, 1)
    return [
        (
            f"INSERT INTO ledger_lot ({_LOT_NAMES}, remaining, expired)"
            f" SELECT {_LOT_NAMES}, points, 0 FROM ({source}) AS v",
            params,
        )
    ]


async def consume_lots(
    member_id: int, points: int, state: LotState, *, order_id: str | None = None
) -> int:
    """Take up to `points` from the member's oldest lots; return how many were taken.

    The caller holds the member's lock, so no other writer touches these lots.
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
        raise InvalidInput("points must be greater than 0", "points")
    async with unit_of_work():
        state = await member_state.lock(member_id)
        await flush()  # credits drafted earlier in this unit count
        now = clock.now()
        key = accounts.available(member_id)
        if not await accounts.take(key, points):
            raise InsufficientPoints(
                f"the member has fewer than {points} spendable points", "points"
            )
        await consume_lots(member_id, points, LotState.AVAILABLE)
        sink = _sink(reason) or accounts.issuance_of(member_id)
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
        state.available -= points
        emit(
            PointsChanged(
                member_id=member_id,
                balance=state.available,
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
        state = await member_state.lock(member_id)
        await flush()
        now = clock.now()
        budget = accounts.issuance_of(member_id)
        from_pending = await consume_lots(member_id, points, LotState.PENDING, order_id=order_id)
        rest = points - from_pending
        if from_pending:
            await accounts.add(accounts.pending(member_id), -from_pending)
            await accounts.post(
                accounts.pending(member_id),
                budget,
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
                budget,
                rest,
                Reason.REFUND,
                member_id=member_id,
                delta=-rest,
                earned=-rest,
                description=description,
                order_id=order_id,
                at=now,
            )
        await accounts.add(budget, points)
        state.available -= rest
        state.pending -= from_pending
        state.lifetime -= points
        state.touch()
        emit(
            PointsChanged(
                member_id=member_id,
                balance=state.available,
                delta=-points,
                reason=Reason.REFUND,
                at=now,
                earned=-points,
            )
        )
        return points


async def balances(member_ids: list[int]) -> dict[int, Balances]:
    """Available, pending, lifetime and expiring-soon points of each member (3 queries)."""
    ids_ = list(set(member_ids))
    found: dict[int, dict[str, int]] = {m: {} for m in ids_}
    if not ids_:
        return {}
    for row in await Account.filter(member_id__in=ids_).values("member_id", "kind", "balance"):
        kind = "available" if row["kind"] == AccountKind.AVAILABLE.value else "pending"
        found[row["member_id"]][kind] = int(row["balance"])
    for row in await member_state.MemberState.filter(member_id__in=ids_).values(
        "member_id", "lifetime"
    ):
        found[row["member_id"]]["lifetime"] = int(row["lifetime"])
    horizon = clock.now() + EXPIRING_SOON
    for row in (
        await Lot.filter(member_id__in=ids_, remaining__gt=0, expires_at__lte=horizon)
        .annotate(total=Sum("remaining"))
        .group_by("member_id")
        .values("member_id", "total")
    ):
        found[row["member_id"]]["expiring_soon"] = int(row["total"] or 0)
    return {m: Balances(**values) for m, values in found.items()}


async def expiring_soon(member_ids: list[int]) -> dict[int, int]:
    """Points of each member expiring within EXPIRING_SOON (one query)."""
    horizon = clock.now() + EXPIRING_SOON
    rows = (
        await Lot.filter(member_id__in=member_ids, remaining__gt=0, expires_at__lte=horizon)
        .annotate(total=Sum("remaining"))
        .group_by("member_id")
        .values("member_id", "total")
    )
    return {int(r["member_id"]): int(r["total"] or 0) for r in rows}


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
