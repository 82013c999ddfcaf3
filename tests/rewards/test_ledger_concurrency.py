"""Races on PostgreSQL: concurrent spends never overdraw, concurrent repeats take effect once.

SQLite serialises writers and proves nothing here, so these run in CI's PostgreSQL pass.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from core import clock
from rewards.ledger import budget, jobs, service
from rewards.ledger.models import IdempotencyRecord, Posting
from rewards.ledger.reasons import Reason
from rewards.orders.models import Order
from tests import backends, factories
from tests.conftest import Api
from tests.rewards.checks import assert_books_balance
from tests.rewards.ledger_api import adjust, points, record, redeem, refund

pytestmark = pytest.mark.skipif(
    not backends.ON_POSTGRES, reason="races need PostgreSQL's concurrent writers"
)


async def test_50_concurrent_redeems_of_10_on_100_points_exactly_10_succeed(api: Api) -> None:
    # given a member holding 100 points
    m = await factories.member(external_id="race")
    await service.credit(m.id, 100, Reason.ACTION)
    # when 50 redeems of 10 arrive at once
    results = await asyncio.gather(*(redeem(api, "race", 10, f"race-{i}") for i in range(50)))
    # then exactly 10 succeed, the others are INSUFFICIENT_POINTS, and the books balance
    ok = [r for r in results if not r["errors"]]
    refused = [r for r in results if r["errors"]]
    assert len(ok) == 10
    assert {r["errors"][0]["code"] for r in refused} == {"INSUFFICIENT_POINTS"}
    assert (await points(api, "race"))["pointsBalance"] == 0
    await assert_books_balance()


async def test_20_concurrent_copies_of_one_redeem_key_take_effect_once(api: Api) -> None:
    # given a member holding 100 points
    m = await factories.member(external_id="once")
    await service.credit(m.id, 100, Reason.ACTION)
    # when 20 copies of one redeem (one key) arrive at once
    results = await asyncio.gather(*(redeem(api, "once", 10, "same-key") for _ in range(20)))
    # then each answers the same, and it took effect once
    assert all(r["errors"] == [] and r["discount"] == "10000.00" for r in results)
    assert (await points(api, "once"))["pointsBalance"] == 90
    assert await Posting.filter(member_id=m.id, reason="REDEMPTION").count() == 1
    assert await IdempotencyRecord.filter(key="same-key").count() == 1
    await assert_books_balance()


async def test_20_concurrent_copies_of_one_order_earn_once(api: Api) -> None:
    # given a member
    await factories.member(external_id="ord-race")
    # when 20 copies of one order arrive at once
    results = await asyncio.gather(
        *(record(api, "ord-same", "ord-race", "1000000") for _ in range(20))
    )
    # then each answers the same, and it earned once
    assert all(r["errors"] == [] and r["pointsEarned"] == 50 for r in results)
    assert sum(1 for r in results if not r["duplicate"]) == 1
    assert (await points(api, "ord-race"))["pointsBalance"] == 50
    assert await Order.filter(order_id="ord-same").count() == 1
    await assert_books_balance()


async def test_20_concurrent_copies_of_one_refund_reverse_once(api: Api) -> None:
    # given a member's order
    await factories.member(external_id="ref-race")
    await record(api, "ord-ref", "ref-race", "1000000")
    # when 20 copies of one refund arrive at once
    results = await asyncio.gather(*(refund(api, "ord-ref", "rf-same") for _ in range(20)))
    # then each answers the same, and it reversed the points once
    assert all(r["errors"] == [] and r["pointsReversed"] == 50 for r in results)
    assert sum(1 for r in results if not r["duplicate"]) == 1
    assert (await points(api, "ref-race"))["pointsBalance"] == 0
    await assert_books_balance()


async def test_concurrent_distinct_refunds_never_refund_more_than_the_order(api: Api) -> None:
    # given a member's order of 1,000,000
    await factories.member(external_id="ref-many")
    await record(api, "ord-many", "ref-many", "1000000")
    # when ten distinct refunds of 200,000 arrive at once
    results = await asyncio.gather(
        *(refund(api, "ord-many", f"rf-{i}", "200000") for i in range(10))
    )
    # then five succeed, refunding the order exactly in full
    assert sum(1 for r in results if not r["errors"]) == 5
    order = await Order.get(order_id="ord-many")
    assert (order.refunded_amount, order.status, order.points_reversed) == (1000000, "REFUNDED", 50)
    await assert_books_balance()


async def test_20_concurrent_copies_of_one_adjustment_credit_once(api: Api) -> None:
    # given a member
    await factories.member(external_id="adj-race")
    # when 20 copies of one adjustment arrive at once
    results = await asyncio.gather(*(adjust(api, "adj-race", 7, "adj-same") for _ in range(20)))
    # then it credited once
    assert len({r["entry"]["id"] for r in results}) == 1
    assert (await points(api, "adj-race"))["pointsBalance"] == 7
    await assert_books_balance()


async def test_concurrent_credits_never_overdraw_the_issuance_budget() -> None:
    # given six members and an issuance budget of 100 points
    members = [await factories.member() for _ in range(6)]
    await budget.top_up(-(await budget.remaining() - 100))

    async def earn(member_id: int) -> bool:
        try:
            await service.credit(member_id, 10, Reason.ACTION)
            return True
        except Exception as exc:
            assert type(exc).__name__ == "BudgetExhausted", exc
            return False

    # when 30 credits of 10 arrive at once
    results = await asyncio.gather(*(earn(members[i % 6].id) for i in range(30)))
    # then exactly ten land, the budget is spent, and the books balance
    assert sum(results) == 10
    assert await budget.remaining() == 0
    await assert_books_balance()


async def test_concurrent_spends_and_orders_on_one_member_keep_the_books(api: Api) -> None:
    # given a member holding 200 points
    m = await factories.member(external_id="mix")
    await service.credit(m.id, 200, Reason.ACTION)
    # when 20 redeems of 15 and 20 orders of 10 points arrive at once
    calls = [redeem(api, "mix", 15, f"mix-{i}") for i in range(20)]
    calls += [record(api, f"mix-o{i}", "mix", "200000") for i in range(20)]  # 10 points each
    await asyncio.gather(*calls)
    # then the balance is what landed, never below zero, and the books balance
    p = await points(api, "mix")
    spent = await Posting.filter(member_id=m.id, reason="REDEMPTION").count() * 15
    assert p["pointsBalance"] == 200 + 200 - spent >= 0
    await assert_books_balance()


async def test_two_expiry_runs_at_once_expire_each_lot_once() -> None:
    # given five members' points, a year and a day old
    clock.freeze(datetime(2026, 1, 1, tzinfo=UTC))
    members = [await factories.member() for _ in range(5)]
    for m in members:
        await service.credit(m.id, 10, Reason.ACTION)
    clock.advance(timedelta(days=366))
    # when three expiry runs run at once
    await asyncio.gather(jobs.expire_points(), jobs.expire_points(), jobs.expire_points())
    # then each lot expired once
    for m in members:
        assert (await service.balance_of(m.id)).available == 0
    assert await Posting.filter(reason="EXPIRY").count() == 5
    await assert_books_balance()


async def test_concurrent_orders_of_a_referred_member_and_the_referrer_all_land(
    api: Api,
) -> None:
    # given a member referred by another; one unit of work credits two members here (the
    # buyer and the referrer's commission), the pattern that can make PostgreSQL pick a
    # deadlock victim: the write is retried
    from members.service import Enrolment
    from rewards import enrolment

    referrer = await enrolment.enroll(Enrolment(external_id="ref-a", display_name="A"))
    await enrolment.enroll(
        Enrolment(external_id="ref-b", display_name="B", referral_code=referrer.referral_code)
    )
    # when both order and the referrer spends, all at once
    calls = [record(api, f"rb-{i}", "ref-b", "1000000") for i in range(12)]
    calls += [record(api, f"ra-{i}", "ref-a", "1000000") for i in range(12)]
    calls += [redeem(api, "ref-a", 5, f"ra-spend-{i}") for i in range(12)]
    results = await asyncio.gather(*calls)
    # then every order lands, and the balances and books add up
    assert all(not r["errors"] for r in results[:24]), results
    b = await points(api, "ref-b")
    a = await points(api, "ref-a")
    assert b["pointsBalance"] == 12 * 50
    spent = 5 * sum(1 for r in results[24:] if not r["errors"])
    referral = sum(r["referralPointsAwarded"] for r in results[:12])
    assert a["pointsBalance"] == 12 * 50 + referral - spent
    await assert_books_balance()


async def test_the_audit_is_never_falsely_unbalanced_while_orders_commit(api: Api) -> None:
    # given members recording orders as fast as they can
    members = [await factories.member(external_id=f"busy-{n}") for n in range(8)]

    async def orders(member: str) -> None:
        for n in range(15):
            assert (await record(api, f"{member}-{n}", member, 120_000))["errors"] == []

    async def audits() -> list[bool]:
        seen = []
        for _ in range(30):
            found = await api.admin("{ ledgerAudit { balanced } }")
            seen.append(found["ledgerAudit"]["balanced"])
        return seen

    # when admins audit the ledger meanwhile
    *_, seen = await asyncio.gather(*(orders(m.external_id) for m in members), audits())
    # then every audit read one consistent state of the books: always balanced
    assert seen == [True] * 30
    await assert_books_balance()
