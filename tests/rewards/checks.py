"""What the rewards tests read back: balances, the multiplier a write would apply, events
and live messages as they go out, and whether the books balance."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any

from tortoise.functions import Sum

from core import clock, events, pubsub
from core.events import unit_of_work
from members.models import Member
from rewards import earning, member_state
from rewards.ledger import audit
from rewards.ledger import service as ledger
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


async def balance(member: Member) -> int:
    """The member's spendable points."""
    return (await ledger.balance_of(member.id)).available


async def multiplier(member: Member, action_type: str) -> Decimal:
    """earning.multiplier as a write sees it: for the member it locked."""
    async with unit_of_work():
        state = await member_state.lock(member.id)
        return await earning.multiplier(state, action_type, clock.now())


@contextlib.contextmanager
def captured(event_type: type) -> Iterator[list[Any]]:
    """Events of `event_type` dispatched after commit while the block runs."""
    got: list[Any] = []

    async def handler(event: Any) -> None:
        got.append(event)

    events.on(event_type, handler)
    try:
        yield got
    finally:
        events.off(event_type, handler)


@contextlib.asynccontextmanager
async def member_messages(member: Member) -> AsyncIterator[Callable[[], Awaitable[list[dict]]]]:
    """Listen on the member's live channel; the yielded function drains what arrived."""
    async with pubsub.hub.listen(f"member:{member.id}") as queue:

        async def drain() -> list[dict]:
            got = []
            while True:
                try:
                    got += pubsub.messages(await asyncio.wait_for(queue.get(), 0.3))
                except TimeoutError:
                    return got

        yield drain
