"""Ledger accounts and the one primitive that moves points between two of them.

Lock order (so concurrent writers never deadlock each other): a member's available
account, then their pending account, then the program's accounts. Every write that
reads a member's lots first updates or locks that member's available account, so the
row lock serialises all work on one member's lots (SQLite serialises writers anyway).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.expressions import F

from core import clock
from members.models import DEFAULT_ISSUANCE_BUDGET
from rewards.ledger.models import Account, AccountKind, Posting
from rewards.ledger.reasons import Reason

AUTHORISED = "authorised"
ISSUANCE = "issuance"
REDEEMED = "redeemed"
EXPIRED = "expired"
SYSTEM = {
    AUTHORISED: AccountKind.AUTHORISED,
    ISSUANCE: AccountKind.ISSUANCE,
    REDEEMED: AccountKind.REDEEMED,
    EXPIRED: AccountKind.EXPIRED,
}
INITIAL_BUDGET_REF = "budget:initial"


def available(member_id: int) -> str:
    return f"m:{member_id}:available"


def pending(member_id: int) -> str:
    return f"m:{member_id}:pending"


async def ensure_system() -> None:
    """Create the program's accounts with the initial budget, once (race-safe, in a tx)."""
    if await Account.exists(key=ISSUANCE):
        return
    budget = DEFAULT_ISSUANCE_BUDGET
    await Account.bulk_create(
        [
            Account(
                key=key,
                kind=kind.value,
                balance=-budget if key == AUTHORISED else budget if key == ISSUANCE else 0,
            )
            for key, kind in SYSTEM.items()
        ],
        ignore_conflicts=True,
    )
    # ON CONFLICT DO NOTHING on `ref`: the rows above and this posting commit together.
    await Posting.bulk_create(
        [
            Posting(
                debit_account_id=AUTHORISED,
                credit_account_id=ISSUANCE,
                amount=budget,
                reason=Reason.ADJUSTMENT.value,
                description="initial issuance budget",
                ref=INITIAL_BUDGET_REF,
                created_at=clock.now(),
            )
        ],
        ignore_conflicts=True,
    )


async def ensure_member(member_id: int) -> None:
    await Account.bulk_create(
        [
            Account(
                key=available(member_id), kind=AccountKind.AVAILABLE.value, member_id=member_id
            ),
            Account(key=pending(member_id), kind=AccountKind.PENDING.value, member_id=member_id),
        ],
        ignore_conflicts=True,
    )


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


async def add_to_member(member_id: int, amount: int) -> int:
    """Add to the member's available balance (creating the accounts); return it after."""
    key = available(member_id)
    rows = await Account.filter(key=key).update(balance=F("balance") + amount)
    if rows != 1:
        await ensure_member(member_id)
        await add(key, amount)
    return await balance(key)


async def lock_member(member_id: int) -> int:
    """Lock the member's accounts (creating them) and return the available balance."""
    key = available(member_id)
    rows = await Account.filter(key=key).update(balance=F("balance"))
    if rows != 1:
        await ensure_member(member_id)
        await Account.filter(key=key).update(balance=F("balance"))
    return await balance(key)


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
