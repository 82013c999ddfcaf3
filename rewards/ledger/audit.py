"""The ledger audit: do the books balance, and what does the program owe."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from tortoise.functions import Sum

from core import sql
from members.program import get_program
from rewards.ledger import accounts
from rewards.ledger.models import Account, AccountKind, Posting


@dataclass(frozen=True)
class Audit:
    balanced: bool
    points_issued: int
    points_redeemed: int
    points_expired: int
    points_outstanding: int
    liability: Decimal
    accounts_out_of_balance: int


async def audit() -> Audit:
    """Recompute every balance from the postings and compare with the cached ones, all read
    in one snapshot, so writes committing meanwhile never make it look unbalanced."""
    async with sql.snapshot():
        return await _audit()


async def _audit() -> Audit:
    sums: dict[str, int] = defaultdict(int)
    for row in (
        await Posting.all()
        .annotate(total=Sum("amount"))
        .group_by("credit_account_id")
        .values("credit_account_id", "total")
    ):
        sums[row["credit_account_id"]] += int(row["total"] or 0)
    for row in (
        await Posting.all()
        .annotate(total=Sum("amount"))
        .group_by("debit_account_id")
        .values("debit_account_id", "total")
    ):
        sums[row["debit_account_id"]] -= int(row["total"] or 0)
    cached = {a.key: (a.kind, int(a.balance)) for a in await Account.all()}
    out = sum(1 for key, (_, bal) in cached.items() if sums.get(key, 0) != bal)
    out += sum(1 for key in sums if key not in cached)
    total = sum(bal for _, bal in cached.values())
    member_kinds = (AccountKind.AVAILABLE.value, AccountKind.PENDING.value)
    outstanding = sum(bal for kind, bal in cached.values() if kind in member_kinds)
    redeemed = cached.get(accounts.REDEEMED, ("", 0))[1]
    expired = cached.get(accounts.EXPIRED, ("", 0))[1]
    program = await get_program()
    # Issued is net of refund clawbacks and admin debits (both return to the budget).
    return Audit(
        balanced=out == 0 and total == 0,
        points_issued=outstanding + redeemed + expired,
        points_redeemed=redeemed,
        points_expired=expired,
        points_outstanding=outstanding,
        liability=(Decimal(outstanding) * Decimal(program.point_value)).quantize(Decimal("0.01")),
        accounts_out_of_balance=out,
    )
