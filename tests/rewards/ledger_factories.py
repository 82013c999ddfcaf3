"""Builders and checks shared by the ledger tests."""

from __future__ import annotations

from tortoise.functions import Sum

from rewards.ledger import audit
from rewards.ledger.models import Account, Lot, LotState


async def assert_books_balance() -> None:
    """Every cached balance equals its postings, all balances sum to zero, lots match."""
    report = await audit.audit()
    assert report.balanced, report
    assert report.accounts_out_of_balance == 0
    total = await Account.all().annotate(s=Sum("balance")).values_list("s", flat=True)
    assert int(total[0] or 0) == 0
    for account in await Account.filter(member_id__isnull=False):
        state = LotState.AVAILABLE if account.kind == "AVAILABLE" else LotState.PENDING
        lots = await Lot.filter(member_id=account.member_id, state=state.value).values_list(
            "remaining", flat=True
        )
        assert sum(lots) == max(0, account.balance), (account.key, lots, account.balance)
