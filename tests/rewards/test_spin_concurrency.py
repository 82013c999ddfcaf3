"""Prize stock and daily spin limits under concurrent spins (PostgreSQL only)."""

from __future__ import annotations

import asyncio

import pytest

from core.errors import DomainError, ErrorCode
from rewards import spin_fairness
from rewards.spin_wheel import service as spins
from rewards.spin_wheel.models import SpinResult, SpinSegment
from tests import backends
from tests.rewards.checks import assert_books_balance, balance
from tests.rewards.factories import member_with, segment, wheel

pytestmark = pytest.mark.skipif(not backends.ON_POSTGRES, reason="races need PostgreSQL")


async def _spin(member_id: int, wheel_id: int, seed: str) -> spins.Spun | ErrorCode:
    try:
        return await spins.spin(member_id, wheel_id, seed)
    except DomainError as exc:
        return exc.code


async def test_100_concurrent_spins_win_a_prize_of_stock_1_at_most_once() -> None:
    # given a wheel whose prize (90% of the weight) has stock 1, and 50 members
    w = await wheel([segment("Car", 90, points=1000, stock=1), segment("Nothing", 10)])
    members = [await member_with(0) for _ in range(50)]
    # when they spin 100 times at once (two each)
    outcomes = await asyncio.gather(*(_spin(members[i % 50].id, w.id, f"c{i}") for i in range(100)))
    # then every spin completes and the car is won once (at most; at these odds, once)
    results = [o for o in outcomes if isinstance(o, spins.Spun)]
    assert len(results) == 100
    cars = [r for r in results if r.segment.label == "Car"]
    assert len(cars) == 1
    assert (await SpinSegment.get(wheel_id=w.id, label="Car")).won == 1
    assert sum([await balance(m) for m in members]) == 1000
    # and every result re-checks against its revealed seed and recorded draw
    for row in await SpinResult.filter(wheel_id=w.id):
        index = [sid for sid, _ in row.draw].index(row.segment_id)
        verdict = spin_fairness.verify(
            server_seed=row.server_seed,
            client_seed=row.client_seed,
            nonce=row.nonce,
            weights=[weight for _, weight in row.draw],
            seed_hash_shown=row.server_seed_hash,
            claimed_index=index,
        )
        assert verdict.ok, verdict
    await assert_books_balance()


async def test_one_member_firing_10_spins_with_daily_limit_3_gets_3() -> None:
    # given a wheel costing 10 with dailyLimit 3 and a member with 100 points
    w = await wheel([segment("Nothing", 1)], daily_limit=3, cost_points=10)
    member = await member_with(100)
    # when they fire 10 spins at once
    outcomes = await asyncio.gather(*(_spin(member.id, w.id, f"d{i}") for i in range(10)))
    # then exactly 3 spin and are paid for; 7 are LIMIT_REACHED
    assert sum(isinstance(o, spins.Spun) for o in outcomes) == 3
    assert outcomes.count(ErrorCode.LIMIT_REACHED) == 7
    assert await SpinResult.filter(member_id=member.id).count() == 3
    assert sorted(r.nonce for r in await SpinResult.filter(member_id=member.id)) == [0, 1, 2]
    assert await balance(member) == 70
    await assert_books_balance()
