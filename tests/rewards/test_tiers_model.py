"""A hypothesis state machine drives tiers through orders, refunds, time and reviews.

After every step: the counted tier points equal a plain-Python model of the rolling
window (refunds dated like their orders), and the tier a member holds is never below the
one their points reach (upgrades are immediate). Each review moves a member down at most
one tier, and only when their grace period had ended; after a review, anyone still below
their tier's threshold has a grace period running.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from core import clock
from members.program import ProgramChanges, update_program
from rewards.member_state import MemberState
from rewards.orders import service as orders
from rewards.tiers import service as tiers
from tests.conftest import empty_program
from tests.rewards.factories import enrol, standard_tiers

T = TypeVar("T")
START = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)
GRACE_DAYS = 20
THRESHOLDS = {None: 0, "MEMBER": 0, "SILVER": 100, "GOLD": 300}
ORDER_OF = {None: 0, "MEMBER": 0, "SILVER": 1, "GOLD": 2}


@dataclass
class ModelOrder:
    order_id: str
    amount: int
    tier_points: int
    at: datetime
    refunded: int = 0
    reversed: int = 0


class TierMachine(RuleBasedStateMachine):
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    @initialize()
    def setup(self) -> None:
        self.now = START
        self.orders: list[ModelOrder] = []
        self.run(self._setup())

    async def _setup(self) -> None:
        clock.freeze(START)
        await empty_program()
        await update_program(ProgramChanges(tier_grace_days=GRACE_DAYS))
        await standard_tiers()
        self.member = await enrol(external_id="tier-model")

    def expected_points(self) -> int:
        since = self.now - timedelta(days=365)
        return max(0, sum(o.tier_points - o.reversed for o in self.orders if o.at > since))

    async def held(self) -> MemberState:
        return await MemberState.get(member_id=self.member.id)

    @rule(amount=st.integers(20_000, 8_000_000) | st.sampled_from([2_000_000, 6_000_000]))
    def order(self, amount: int) -> None:
        order_id = f"tm-{len(self.orders)}"
        self.run(orders.record_order(order_id, "tier-model", Decimal(amount)))
        self.orders.append(ModelOrder(order_id, amount, amount // 20_000, self.now))

    @precondition(lambda self: any(o.refunded < o.amount for o in self.orders))
    @rule(data=st.data(), whole=st.booleans())
    def refund(self, data: st.DataObject, whole: bool) -> None:
        open_orders = [o for o in self.orders if o.refunded < o.amount]
        o = data.draw(st.sampled_from(open_orders))
        remaining = o.amount - o.refunded
        part = remaining if whole or remaining < 2 else remaining // 2
        self.run(orders.refund_order(o.order_id, f"{o.order_id}-r{o.refunded}", Decimal(part)))
        o.refunded += part
        kept = math.floor(Fraction(o.tier_points) * (o.amount - o.refunded) / o.amount)
        o.reversed = o.tier_points - kept

    @rule(days=st.sampled_from([1, 19, 21, 200, 366, 366]))
    def advance(self, days: int) -> None:
        """Time passes; the review job runs, as `loyalty serve` does every 30 seconds."""
        self.now += timedelta(days=days)
        clock.freeze(self.now)
        self.run(self._review())

    @rule()
    def review(self) -> None:
        self.run(self._review())

    async def _review(self) -> None:
        before = await self.held()
        points = (await tiers.status(self.member.id)).tier_points
        await tiers.review_tiers()
        after = await self.held()
        steps_down = ORDER_OF[before.tier_code] - ORDER_OF[after.tier_code]
        assert steps_down <= 1, (before.tier_code, after.tier_code)
        grace_over = before.grace_until is not None and before.grace_until <= self.now
        below = points < THRESHOLDS[before.tier_code]
        assert (steps_down == 1) == (below and grace_over), (before, after, points)
        if points < THRESHOLDS[after.tier_code]:
            assert after.grace_until is not None and after.grace_until > self.now

    @invariant()
    def consistent(self) -> None:
        if hasattr(self, "member"):
            self.run(self._check())

    async def _check(self) -> None:
        status = await tiers.status(self.member.id)
        assert status.tier_points == self.expected_points()
        reached = max(
            (
                code
                for code in ("MEMBER", "SILVER", "GOLD")
                if THRESHOLDS[code] <= status.tier_points
            ),
            key=ORDER_OF.__getitem__,
        )
        held = (await self.held()).tier_code
        assert ORDER_OF[held] >= ORDER_OF[reached], (held, reached, status.tier_points)
        assert status.tier is not None
        assert ORDER_OF[status.tier.code] == max(ORDER_OF[held], ORDER_OF[reached])


async def test_tiers_match_their_model_under_random_operations() -> None:
    # given tiers and a plain-Python model of the rolling window (TierMachine), 60 runs of 25 steps
    TierMachine.loop = asyncio.get_running_loop()
    TierMachine.TestCase.settings = settings(
        max_examples=60,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    # when hypothesis drives both through orders, refunds, time and reviews
    try:
        # then after every step the tiers match the model (the machine's invariants)
        await asyncio.get_running_loop().run_in_executor(None, TierMachine.TestCase().runTest)
    finally:
        clock.unfreeze()
