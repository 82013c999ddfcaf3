"""Races on PostgreSQL: concurrent orders, reviews and birthday runs change a tier once."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest

from core import clock
from rewards import birthdays
from rewards.birthdays import BirthdayCredit
from rewards.ledger import service as ledger
from rewards.tiers import service as tiers
from rewards.tiers.models import TierPointEntry
from tests import backends
from tests.rewards.checks import captured
from tests.rewards.factories import enrol, order, program, standard_tiers

pytestmark = pytest.mark.skipif(not backends.ON_POSTGRES, reason="races need PostgreSQL")


async def test_concurrent_orders_cross_each_threshold_exactly_once() -> None:
    # given the standard tiers, and a member
    await standard_tiers()
    m = await enrol()
    with captured(tiers.TierChanged) as changes:
        # when ten orders of 50 tier points arrive at once
        await asyncio.gather(*(order(m, 1_000_000) for _ in range(10)))
    # then each threshold was crossed once, and every order counted
    assert sorted((c.from_code, c.to_code) for c in changes) == [
        ("MEMBER", "SILVER"),
        ("SILVER", "GOLD"),
    ]
    status = await tiers.status(m.id)
    assert status.tier is not None and status.tier.code == "GOLD"
    assert status.tier_points == 500
    assert await TierPointEntry.filter(member_id=m.id).count() == 10


async def test_concurrent_reviews_demote_once() -> None:
    # given the standard tiers, no grace, and a Gold member whose points left the window
    await standard_tiers()
    await program(tier_grace_days=0)
    clock.freeze(datetime(2026, 2, 2, tzinfo=UTC))
    m = await enrol()
    await order(m, 6_000_000)
    clock.advance(timedelta(days=366))
    with captured(tiers.TierChanged) as changes:
        # when five reviews run at once
        results = await asyncio.gather(*(tiers.review_tiers() for _ in range(5)))
    # then one demotes them, one tier
    assert sum(r.get("demoted", 0) for r in results) == 1
    assert [(c.from_code, c.to_code) for c in changes] == [("GOLD", "SILVER")]
    status = await tiers.status(m.id)
    assert status.tier is not None and status.tier.code == "SILVER"


async def test_concurrent_birthday_runs_pay_once() -> None:
    # given 200 birthday points, and five members born in July, in July
    await program(birthday_points=200)
    clock.freeze(datetime(2026, 7, 10, 3, 0, tzinfo=UTC))
    people = [await enrol(birthday=date(1995, 7, d)) for d in range(1, 6)]
    # when four birthday runs run at once
    paid = await asyncio.gather(*(birthdays.credit_birthdays() for _ in range(4)))
    # then each member is paid once
    assert sum(paid) == 5
    assert await BirthdayCredit.all().count() == 5
    for person in people:
        assert (await ledger.balance_of(person.id)).available == 200
