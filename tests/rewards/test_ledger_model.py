"""A hypothesis state machine drives the ledger against a plain-Python model.

Steps: orders earn (pending or at once), redeem with fresh or reused keys, refunds,
admin adjustments, time passing with the pending and expiry jobs. After every step:
the books balance (every cached balance equals its postings, all sum to zero), each
member's available and pending points and lots match the model, no spend went through a
balance that could not cover it, and every idempotency key took effect once.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from tortoise.functions import Sum

from core import clock
from core.errors import IdempotencyConflict, InsufficientPoints
from members.program import ProgramChanges, update_program
from rewards.ledger import audit, jobs, service, spending
from rewards.ledger.models import Lot, Posting
from rewards.orders import service as orders
from tests import factories
from tests.conftest import empty_program

T = TypeVar("T")
START = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)
EXPIRY_DAYS = 60
MEMBERS = ("alice", "bao")


@dataclass
class ModelLot:
    order_id: str | None
    remaining: int
    pending: bool
    available_at: datetime
    expires_at: datetime
    expired: int = 0


@dataclass
class ModelMember:
    available: int = 0
    pending: int = 0
    lots: list[ModelLot] = field(default_factory=list)

    def take_available(self, points: int) -> None:
        for lot in self.lots:
            if points == 0:
                break
            if not lot.pending and lot.remaining:
                part = min(lot.remaining, points)
                lot.remaining -= part
                points -= part

    def credit(self, points: int, pending_days: int, order_id: str | None, now: datetime) -> None:
        debt = max(0, -self.available)
        expires = now + timedelta(days=EXPIRY_DAYS)
        if pending_days == 0:
            self.available += points
            keep = points - min(points, debt)
            if keep:
                self.lots.append(ModelLot(order_id, keep, False, now, expires))
            return
        repay = min(debt, points)
        self.available += repay
        if points - repay:
            self.pending += points - repay
            self.lots.append(
                ModelLot(
                    order_id, points - repay, True, now + timedelta(days=pending_days), expires
                )
            )


@dataclass
class ModelOrder:
    member: str
    amount: Decimal
    points: int
    refunded: Decimal = Decimal(0)
    reversed: int = 0


class LedgerMachine(RuleBasedStateMachine):
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    @initialize(pending_days=st.sampled_from([0, 0, 3]))
    def setup(self, pending_days: int) -> None:
        self.pending_days = pending_days
        self.members = {name: ModelMember() for name in MEMBERS}
        self.ids: dict[str, int] = {}
        self.orders: dict[str, ModelOrder] = {}
        self.keys: dict[str, tuple[str, int, str]] = {}
        self.redemptions = 0
        self.now = START
        self.run(self._setup())

    async def _setup(self) -> None:
        clock.freeze(START)
        await empty_program()
        await update_program(
            ProgramChanges(points_pending_days=self.pending_days, points_expiry_days=EXPIRY_DAYS)
        )
        for name in MEMBERS:
            self.ids[name] = (await factories.member(external_id=name)).id

    @rule(member=st.sampled_from(MEMBERS), amount=st.integers(1, 4_000_000))
    def order(self, member: str, amount: int) -> None:
        order_id = f"o{len(self.orders)}"
        result = self.run(orders.record_order(order_id, member, Decimal(amount)))
        points = math.floor(Fraction(amount) * 5 / 100 / 1000)
        assert result.points_earned == points and not result.duplicate
        self.orders[order_id] = ModelOrder(member, Decimal(amount), points)
        if points:
            self.members[member].credit(points, self.pending_days, order_id, self.now)

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data())
    def repeat_order(self, data: st.DataObject) -> None:
        order_id = data.draw(st.sampled_from(sorted(self.orders)))
        o = self.orders[order_id]
        result = self.run(orders.record_order(order_id, o.member, o.amount))
        assert result.duplicate and result.points_earned == o.points

    @rule(
        member=st.sampled_from(MEMBERS),
        points=st.integers(1, 120),
        key=st.sampled_from(["k1", "k2", "k3", "k4", "k5", "k6"]),
        order_id=st.sampled_from(["p1", "p2"]),
    )
    def redeem(self, member: str, points: int, key: str, order_id: str) -> None:
        m = self.members[member]
        try:
            self.run(spending.redeem_points(member, points, order_id, key))
        except IdempotencyConflict:
            assert key in self.keys and self.keys[key] != (member, points, order_id)
            return
        except InsufficientPoints:
            assert key not in self.keys and m.available < points
            return
        if key in self.keys:
            assert self.keys[key] == (member, points, order_id)  # a retry: no effect
            return
        assert m.available >= points, "spent from a balance that could not cover it"
        self.keys[key] = (member, points, order_id)
        self.redemptions += 1
        m.available -= points
        m.take_available(points)

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data(), share=st.sampled_from([None, Fraction(1, 3), Fraction(1, 2), 1]))
    def refund(self, data: st.DataObject, share: Fraction | None) -> None:
        order_id = data.draw(st.sampled_from(sorted(self.orders)))
        o = self.orders[order_id]
        remaining = o.amount - o.refunded
        amount = (
            None
            if share is None
            else (Decimal(share.numerator) * o.amount / share.denominator).quantize(Decimal("0.01"))
        )
        asked = remaining if amount is None else amount
        refund_id = f"r{order_id}-{o.refunded}-{amount}"
        if asked <= 0 or asked > remaining:
            try:
                self.run(orders.refund_order(order_id, refund_id, amount))
            except Exception as exc:
                assert type(exc).__name__ == "InvalidInput"
                return
            raise AssertionError("refund beyond what remains went through")
        result = self.run(orders.refund_order(order_id, refund_id, amount))
        o.refunded += asked
        target = o.points - math.floor(
            Fraction(o.points) * Fraction(o.amount - o.refunded) / Fraction(o.amount)
        )
        m = self.members[o.member]
        expired = sum(lot.expired for lot in m.lots if lot.order_id == order_id)
        # Expired points of the order are never clawed back a second time.
        points = max(0, min(target - o.reversed, o.points - expired - o.reversed))
        o.reversed += points
        assert result.points_reversed == points
        again = self.run(orders.refund_order(order_id, refund_id, amount))
        assert again.duplicate and again.points_reversed == points
        m = self.members[o.member]
        rest = points
        for lot in m.lots:
            if lot.pending and lot.order_id == order_id and rest:
                part = min(lot.remaining, rest)
                lot.remaining -= part
                m.pending -= part
                rest -= part
        m.available -= rest
        m.take_available(rest)

    @rule(member=st.sampled_from(MEMBERS), points=st.integers(-60, 60).filter(bool))
    def adjust(self, member: str, points: int) -> None:
        m = self.members[member]
        key = f"adj{len(self.keys)}-{points}"
        try:
            self.run(spending.adjust_points(member, points, "test", key))
        except InsufficientPoints:
            assert points < 0 and m.available < -points
            return
        self.keys[key] = (member, points, "adjust")
        if points > 0:
            m.credit(points, 0, None, self.now)
        else:
            assert m.available >= -points
            m.available += points
            m.take_available(-points)

    @rule(days=st.sampled_from([1, 2, 5, 30, 61]))
    def time_passes(self, days: int) -> None:
        self.now += timedelta(days=days)
        clock.freeze(self.now)
        self.run(jobs.mature_pending())
        self.run(jobs.expire_points())
        for m in self.members.values():
            due = [lot for lot in m.lots if lot.pending and lot.available_at <= self.now]
            before = m.available
            for lot in due:
                lot.pending = False
                m.pending -= lot.remaining
                m.available += lot.remaining
            if before < 0:
                m.take_available(min(-before, sum(lot.remaining for lot in due)))
            for lot in m.lots:
                if lot.expires_at <= self.now and lot.remaining:
                    if lot.pending:
                        m.pending -= lot.remaining
                    else:
                        m.available -= lot.remaining
                    lot.expired += lot.remaining
                    lot.remaining = 0

    @invariant()
    def books_match_the_model(self) -> None:
        if not hasattr(self, "members"):
            return
        self.run(self._check())

    async def _check(self) -> None:
        report = await audit.audit()
        assert report.balanced and report.accounts_out_of_balance == 0, report
        found = await service.balances(list(self.ids.values()))
        for name, m in self.members.items():
            b = found[self.ids[name]]
            assert (b.available, b.pending) == (m.available, m.pending), (name, b, m)
            lots = await Lot.filter(member_id=self.ids[name], remaining__gt=0)
            assert sum(lot.remaining for lot in lots) == sum(lot.remaining for lot in m.lots)
            assert sum(lot.remaining for lot in lots if lot.state == "AVAILABLE") == max(
                0, m.available
            )
        redeemed = await Posting.filter(reason="REDEMPTION").count()
        assert redeemed == self.redemptions  # one effect per key
        total = (
            await Posting.filter(member_id__isnull=False)
            .annotate(s=Sum("delta"))
            .values_list("s", flat=True)
        )
        assert int(total[0] or 0) == sum(m.available + m.pending for m in self.members.values())


async def test_the_ledger_matches_its_model_under_random_operations() -> None:
    # given the ledger and a plain-Python model of it (LedgerMachine), 200 runs of 15 steps
    LedgerMachine.loop = asyncio.get_running_loop()
    LedgerMachine.TestCase.settings = settings(
        max_examples=200,
        stateful_step_count=15,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    # when hypothesis drives both through random orders, redemptions, refunds and time
    try:
        # then after every step the ledger matches the model (the machine's invariants)
        await asyncio.get_running_loop().run_in_executor(None, LedgerMachine.TestCase().runTest)
    finally:
        clock.unfreeze()
