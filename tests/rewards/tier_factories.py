"""Builders shared by the tiers, promotions and referrals tests."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from core import clock, events, pubsub
from core.events import unit_of_work
from members.models import Member
from members.program import ProgramChanges, update_program
from rewards import earning, member_state, promotions
from rewards.orders import service as orders
from rewards.promotions import Promotion
from rewards.tiers import service as tiers
from rewards.tiers.models import Tier
from tests import factories

_seq = itertools.count(1)


async def standard_tiers() -> dict[str, Tier]:
    """Member 0, Silver 100 (x1.0), Gold 300 (x1.5, 5% voucher discount)."""
    return {
        "MEMBER": await tiers.upsert_tier(tiers.TierData("MEMBER", "Member", 0)),
        "SILVER": await tiers.upsert_tier(tiers.TierData("SILVER", "Silver", 100)),
        "GOLD": await tiers.upsert_tier(
            tiers.TierData(
                "GOLD",
                "Gold",
                300,
                earn_multiplier=Decimal("1.5"),
                voucher_discount_percent=Decimal(5),
                price_list_code="GOLD-PRICES",
                perks=["free delivery"],
            )
        ),
    }


async def program(**changes: Any) -> None:
    await update_program(ProgramChanges(**changes))


async def enrol(**fields: Any) -> Member:
    n = next(_seq)
    return await factories.member(
        **{"external_id": f"t-{n}", "display_name": f"Trần Thị {n}"} | fields
    )


async def order(
    member: Member, amount: int | str, order_id: str | None = None, **kw: Any
) -> orders.OrderResult:
    order_id = order_id or f"o-{next(_seq)}"
    return await orders.record_order(order_id, member.external_id, Decimal(amount), **kw)


async def refund(order_id: str, amount: int | str | None = None) -> orders.RefundResult:
    return await orders.refund_order(
        order_id, f"r-{next(_seq)}", Decimal(amount) if amount is not None else None
    )


async def promotion(
    multiplier: str, starts_at: datetime, ends_at: datetime, **kw: Any
) -> Promotion:
    return await promotions.create_promotion(
        promotions.PromotionData(
            name=f"promo {next(_seq)}",
            multiplier=Decimal(multiplier),
            starts_at=starts_at,
            ends_at=ends_at,
            **kw,
        )
    )


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


async def multiplier(member: Member, action_type: str) -> Decimal:
    """earning.multiplier as a write sees it: for the member it locked."""
    async with unit_of_work():
        state = await member_state.lock(member.id)
        return await earning.multiplier(state, action_type, clock.now())
