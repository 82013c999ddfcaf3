"""Birthday points (once a year, in the birthday month of the program's zone), welcome
points at enrolment, and the jobs that run them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from core import clock
from core.errors import BudgetExhausted
from members.models import Member
from rewards import birthdays
from rewards.ledger import budget
from rewards.ledger import service as ledger
from rewards.ledger.models import Posting
from server import jobs
from tests.rewards.factories import enrol, program

# 2026-04-30 16:59 UTC is 23:59 on April 30 in Asia/Ho_Chi_Minh; a minute later it is May.
LAST_MINUTE_OF_APRIL_LOCAL = datetime(2026, 4, 30, 16, 59, tzinfo=UTC)


async def points(member: Member) -> int:
    return (await ledger.balance_of(member.id)).available


async def test_birthday_points_are_paid_once_in_the_local_birthday_month() -> None:
    # given 200 birthday points, the last minute of April local, and members born in May,
    # June, and on no known day
    await program(birthday_points=200)
    clock.freeze(LAST_MINUTE_OF_APRIL_LOCAL)
    may = await enrol(birthday=date(1990, 5, 31))
    june = await enrol(birthday=date(1988, 6, 1))
    nobody = await enrol()

    # when the birthday job runs
    # then nobody is paid: it is still April in Ho Chi Minh
    assert await birthdays.credit_birthdays() == 0  # still April in Ho Chi Minh
    # and when May begins, the May member is paid once
    clock.advance(timedelta(minutes=1))
    assert await birthdays.credit_birthdays() == 1
    assert await birthdays.credit_birthdays() == 0  # idempotent
    clock.advance(timedelta(days=20))
    assert await birthdays.credit_birthdays() == 0  # once per year, not per run or day
    assert (await points(may), await points(june), await points(nobody)) == (200, 0, 0)

    # and in June, the June member
    clock.advance(timedelta(days=15))  # June
    assert await birthdays.credit_birthdays() == 1
    assert await points(june) == 200

    # and in May of the next year, the May member again
    clock.advance(timedelta(days=335))  # May of the next year
    assert await birthdays.credit_birthdays() == 1
    assert await points(may) == 400
    reasons = await Posting.filter(member_id=may.id).values_list("reason", flat=True)
    assert list(reasons) == ["BIRTHDAY", "BIRTHDAY"]


async def test_a_member_enrolled_during_their_birthday_month_is_paid_that_month() -> None:
    # given 50 birthday points, on 20 May
    await program(birthday_points=50)
    clock.freeze(datetime(2026, 5, 20, 5, 0, tzinfo=UTC))
    assert await birthdays.credit_birthdays() == 0
    # when a member born in May enrols
    m = await enrol(birthday=date(2000, 5, 2))
    # then the job pays them that month
    assert await birthdays.credit_birthdays() == 1
    assert await points(m) == 50


async def test_no_birthday_points_when_the_program_gives_none() -> None:
    # given a program without birthday points, on 20 May
    clock.freeze(datetime(2026, 5, 20, 5, 0, tzinfo=UTC))
    # when a member born in May enrols and the job runs
    m = await enrol(birthday=date(2000, 5, 2))
    # then nobody is paid
    assert await birthdays.credit_birthdays() == 0
    assert await points(m) == 0


async def test_welcome_points_give_every_newcomer_a_head_start() -> None:
    # given 100 welcome points
    await program(welcome_points=100)
    # when a member enrols
    m = await enrol()
    # then they hold them, as a welcome
    assert await points(m) == 100
    reasons = await Posting.filter(member_id=m.id).values_list("reason", flat=True)
    assert list(reasons) == ["WELCOME"]


async def test_an_exhausted_budget_refuses_the_enrolment_and_leaves_nothing() -> None:
    # given 100 welcome points and a budget of 99
    await program(welcome_points=100)
    await budget.top_up(-(await budget.remaining() - 99))
    # when a member enrols
    # then the enrolment is refused and no member is left
    with pytest.raises(BudgetExhausted):
        await enrol(external_id="too-late")
    assert not await Member.exists(external_id="too-late")


async def test_the_review_and_birthday_jobs_are_registered() -> None:
    # given the jobs table
    # then it holds the tier review and the birthday points
    assert {"tiers.review", "points.birthdays"} <= set(jobs.JOBS)
    # and given 10 birthday points and a member born in May, on 20 May
    await program(birthday_points=10)
    clock.freeze(datetime(2026, 5, 20, 5, 0, tzinfo=UTC))
    m = await enrol(birthday=date(2000, 5, 2))
    # when every job runs
    results = await jobs.run_all()
    # then the member is paid
    assert results["points.birthdays"] == 1
    assert results["tiers.review"] == {}
    assert await points(m) == 10
