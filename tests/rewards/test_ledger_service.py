"""credit / debit / balances: the ledger interface other areas call."""

from __future__ import annotations

import pytest

from core.errors import BudgetExhausted, InsufficientPoints
from core.events import unit_of_work
from rewards.ledger import budget, service
from rewards.ledger.events import PointsChanged
from rewards.ledger.models import Posting
from rewards.ledger.reasons import Reason
from tests import factories
from tests.rewards.checks import assert_books_balance, captured


async def test_credit_then_debit_moves_the_available_balance() -> None:
    # given a member
    m = await factories.member()
    # when they earn 100 and spend 30
    drafted = await service.credit(m.id, 100, Reason.ACTION, description="check-in")
    await service.debit(m.id, 30, Reason.VOUCHER)
    # then 70 remain, 100 were earned in their lifetime, and the books balance
    b = (await service.balances([m.id]))[m.id]
    assert (b.available, b.pending, b.lifetime) == (70, 0, 100)
    assert (drafted.points, drafted.reason) == (100, Reason.ACTION)
    await assert_books_balance()


async def test_debit_beyond_the_balance_is_refused_and_writes_nothing() -> None:
    # given a member holding 10 points
    m = await factories.member()
    await service.credit(m.id, 10, Reason.ACTION)
    before = await Posting.all().count()
    # when 11 are debited
    # then it is refused, and nothing is written
    with pytest.raises(InsufficientPoints):
        await service.debit(m.id, 11, Reason.REDEMPTION)
    assert await Posting.all().count() == before
    assert (await service.balance_of(m.id)).available == 10


async def test_debit_of_a_member_who_never_earned_is_insufficient() -> None:
    # given a member who never earned
    m = await factories.member()
    # when 1 point is debited
    # then it is refused
    with pytest.raises(InsufficientPoints):
        await service.debit(m.id, 1, Reason.REDEMPTION)


async def test_credit_draws_on_the_budget_and_is_refused_beyond_it() -> None:
    # given a member and the issuance budget
    m = await factories.member()
    start = await budget.remaining()
    # when 40 points are credited
    await service.credit(m.id, 40, Reason.ACTION)
    # then the budget is 40 smaller
    assert await budget.remaining() == start - 40
    # and when 5 are left, a credit of 6 is refused, one of 5 lands
    await budget.top_up(-(start - 40 - 5))  # leave 5
    assert await budget.remaining() == 5
    with pytest.raises(BudgetExhausted):
        await service.credit(m.id, 6, Reason.ACTION)
    assert (await service.balance_of(m.id)).available == 40
    await service.credit(m.id, 5, Reason.ACTION)
    assert await budget.remaining() == 0
    await assert_books_balance()


async def test_pending_credit_is_not_spendable() -> None:
    # given a member
    m = await factories.member()
    # when 50 points are credited pending for 14 days
    await service.credit(m.id, 50, Reason.ORDER, pending_days=14)
    # then they count as pending and lifetime, not spendable
    b = await service.balance_of(m.id)
    assert (b.available, b.pending, b.lifetime) == (0, 50, 50)
    with pytest.raises(InsufficientPoints):
        await service.debit(m.id, 1, Reason.REDEMPTION)
    await assert_books_balance()


async def test_points_changed_is_emitted_after_commit_with_balance_and_earned() -> None:
    # given a member, and PointsChanged captured as it goes out
    m = await factories.member()
    with captured(PointsChanged) as seen:
        # when points are credited, then debited
        await service.credit(m.id, 25, Reason.MISSION)
        await service.debit(m.id, 5, Reason.VOUCHER)
    # then PointsChanged went out after each, with the balance and what was earned
    mine = [e for e in seen if e.member_id == m.id]
    assert [(e.balance, e.delta, e.reason, e.earned) for e in mine] == [
        (25, 25, Reason.MISSION, 25),
        (20, -5, Reason.VOUCHER, 0),
    ]
    assert mine[0].message() == {
        "type": "PointsChanged",
        "balance": 25,
        "delta": 25,
        "reason": "MISSION",
        "at": mine[0].at.isoformat(),
    }


async def test_a_rolled_back_unit_of_work_leaves_no_points_and_no_event() -> None:
    # given a member, and PointsChanged captured as it goes out
    m = await factories.member()
    with captured(PointsChanged) as seen, pytest.raises(RuntimeError):
        # when a unit of work credits points and then fails
        async with unit_of_work():
            await service.credit(m.id, 25, Reason.MISSION)
            raise RuntimeError("later step failed")
    # then no points are left, and no event went out
    assert (await service.balance_of(m.id)).available == 0
    assert not [e for e in seen if e.member_id == m.id]
    await assert_books_balance()


async def test_balances_of_many_members_in_one_call() -> None:
    # given three members: one with points, one with pending points, one with none
    a, b, c = await factories.member(), await factories.member(), await factories.member()
    await service.credit(a.id, 7, Reason.ACTION)
    await service.credit(b.id, 9, Reason.ACTION, pending_days=3)
    # when their balances are read in one call
    found = await service.balances([a.id, b.id, c.id])
    # then each has its own
    assert found[a.id].available == 7
    assert found[b.id].pending == 9
    assert found[c.id] == service.Balances()
