"""Ledger accounts and the primitives that move points between them.

Lock order (so concurrent writers never deadlock each other): the member's state row
(rewards/member_state.lock), then the member's available and pending accounts, then the
program's accounts, issuance shards in key order. Every write about a member locks their
state row first, so that row lock serialises all work on one member's lots and balances
(SQLite serialises writers anyway).

The issuance budget is split over ISSUANCE_SHARDS accounts: a credit draws on its member's
shard, so concurrent credits of different members do not queue on one row. The budget is
the sum of the shards; a shard that runs short is topped up from the others (`draw`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.expressions import F

from core import clock, sql
from members.models import DEFAULT_ISSUANCE_BUDGET
from rewards.ledger.models import Account, AccountKind, Posting
from rewards.ledger.reasons import Reason

AUTHORISED = "authorised"
ISSUANCE = "issuance"  # shard 0; the others are issuance:1 .. issuance:N-1
REDEEMED = "redeemed"
EXPIRED = "expired"
ISSUANCE_SHARDS = 16
SYSTEM = {
    AUTHORISED: AccountKind.AUTHORISED,
    REDEEMED: AccountKind.REDEEMED,
    EXPIRED: AccountKind.EXPIRED,
}
INITIAL_BUDGET_REF = "budget:initial"


def available(member_id: int) -> str:
    return f"m:{member_id}:available"


def pending(member_id: int) -> str:
    return f"m:{member_id}:pending"


def shard(n: int) -> str:
    return ISSUANCE if n == 0 else f"{ISSUANCE}:{n}"


SHARDS = [shard(n) for n in range(ISSUANCE_SHARDS)]


def issuance_of(member_id: int | None) -> str:
    """The issuance shard a member's credits draw on (and their clawbacks return to)."""
    return shard((member_id or 0) % ISSUANCE_SHARDS)


async def ensure_system() -> None:
    """Create the program's accounts, once (race-safe: unique keys and posting refs).

    A new ledger gets the initial budget spread over the shards, each account created with
    its balance in the same transaction as the posting that explains it. A ledger from
    before the shards gets the missing shards empty, then `rebalance` spreads its budget.
    """
    if await Account.filter(key=SHARDS[-1]).exists():
        return
    if await Account.filter(key=ISSUANCE).exists():
        await Account.bulk_create(
            [Account(key=key, kind=AccountKind.ISSUANCE.value, balance=0) for key in SHARDS],
            ignore_conflicts=True,
        )
        await rebalance()
        return
    budget = DEFAULT_ISSUANCE_BUDGET
    per_shard, rest = divmod(budget, ISSUANCE_SHARDS)
    shares = {key: per_shard + (rest if n == 0 else 0) for n, key in enumerate(SHARDS)}
    balances = {AUTHORISED: -budget, REDEEMED: 0, EXPIRED: 0} | shares
    kinds = SYSTEM | dict.fromkeys(SHARDS, AccountKind.ISSUANCE)
    await Account.bulk_create(
        [Account(key=key, kind=kinds[key].value, balance=b) for key, b in balances.items()],
        ignore_conflicts=True,
    )
    now = clock.now()
    await Posting.bulk_create(
        [
            Posting(
                debit_account_id=AUTHORISED,
                credit_account_id=key,
                amount=amount,
                reason=Reason.ADJUSTMENT.value,
                description="initial issuance budget",
                ref=INITIAL_BUDGET_REF if n == 0 else f"{INITIAL_BUDGET_REF}:{n}",
                created_at=now,
            )
            for n, (key, amount) in enumerate(shares.items())
        ],
        ignore_conflicts=True,
    )


async def lock_shards() -> dict[str, int]:
    """Lock every issuance shard (in key order) and return their balances."""
    rows = await sql.rows(
        "UPDATE ledger_account SET balance = balance WHERE kind = 'ISSUANCE' RETURNING key, balance"
    )
    return {r["key"]: int(r["balance"]) for r in sorted(rows, key=lambda r: r["key"])}


async def rebalance(need: int = 0) -> int:
    """Even out the issuance shards with internal postings, the first holding at least
    `need` (one credit larger than an even share); returns the points moved."""
    balances = await lock_shards()
    if not balances:
        return 0
    total = sum(balances.values())
    keys = sorted(balances)
    first = min(max(need, 0), total)
    per_shard, rest = divmod(total - first, len(keys))
    target = {key: per_shard + (rest + first if n == 0 else 0) for n, key in enumerate(keys)}
    surplus = {k: balances[k] - target[k] for k in keys if balances[k] > target[k]}
    lack = {k: target[k] - balances[k] for k in keys if balances[k] < target[k]}
    moved = 0
    now = clock.now()
    for taker in lack:
        for giver in surplus:
            amount = min(lack[taker], surplus[giver])
            if amount <= 0:
                continue
            await add(giver, -amount)
            await add(taker, amount)
            await post(
                giver,
                taker,
                amount,
                Reason.ADJUSTMENT,
                internal=True,
                description="issuance budget spread over its shards",
                at=now,
            )
            moved += amount
            lack[taker] -= amount
            surplus[giver] -= amount
    return moved


async def remaining_budget() -> int:
    """What may still be credited (the initial budget before the accounts exist)."""
    found = await sql.row(
        "SELECT SUM(balance) AS total FROM ledger_account WHERE kind = 'ISSUANCE'"
    )
    total = found["total"] if found else None
    return DEFAULT_ISSUANCE_BUDGET if total is None else int(total)


async def add(key: str, amount: int) -> None:
    """Change a balance by `amount` (either sign); the account must exist."""
    rows = await Account.filter(key=key).update(balance=F("balance") + amount)
    if rows != 1:
        raise LookupError(f"ledger account {key} does not exist")


async def take(key: str, amount: int) -> bool:
    """Take `amount` only if the balance covers it: check and debit in one statement."""
    rows = await Account.filter(key=key, balance__gte=amount).update(balance=F("balance") - amount)
    return rows == 1


async def balance(key: str) -> int:
    value: list[Any] = await Account.filter(key=key).values_list("balance", flat=True)
    return int(value[0]) if value else 0


async def post(
    debit: str,
    credit: str,
    amount: int,
    reason: Reason,
    *,
    member_id: int | None = None,
    delta: int = 0,
    earned: int = 0,
    internal: bool = False,
    description: str | None = None,
    order_id: str | None = None,
    at: datetime | None = None,
    available_at: datetime | None = None,
    expires_at: datetime | None = None,
) -> Posting:
    """Insert one posting; the caller has already moved the two cached balances."""
    assert amount > 0, "a posting moves a positive amount"
    now = at or clock.now()
    return await Posting.create(
        debit_account_id=debit,
        credit_account_id=credit,
        amount=amount,
        reason=reason.value,
        description=description,
        order_id=order_id,
        member_id=member_id,
        delta=delta,
        earned=earned,
        internal=internal,
        created_at=now,
        earned_at=now,
        available_at=available_at,
        expires_at=expires_at,
    )
