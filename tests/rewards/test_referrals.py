"""Referrals: linking, commission on referee orders in the window, refunds, abuse checks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from core import clock
from core.errors import ReferralRejected
from members.models import Member
from rewards.ledger import service as ledger
from rewards.ledger.models import Posting
from rewards.ledger.reasons import Reason
from rewards.referrals import Referral
from tests import backends
from tests.conftest import Api
from tests.rewards.checks import assert_books_balance
from tests.rewards.factories import enrol, order, program, refund
from tests.rewards.tiers_api import ENROL, ORDER

T0 = datetime(2026, 5, 4, 2, 0, tzinfo=UTC)

STATS = """
query($externalId: String!) {
  member(externalId: $externalId) {
    referredBy { id displayName tierCode }
    referrals { count qualifiedCount pointsEarned }
  }
}"""


async def balance(member: Member) -> int:
    return (await ledger.balance_of(member.id)).available


# ------------------------------------------------------------------ done when (API)


async def test_a_referees_order_credits_the_referrer_20_points_through_the_api(api: Api) -> None:
    # given a member with a referral code
    referrer = await enrol(phone="0901000001")
    # when someone enrols through the API with it (in lower case)
    joined = await api.admin(
        ENROL,
        {
            "input": {
                "externalId": "referee-api-1",
                "displayName": "Lê Văn Mới",
                "phone": "0901000002",
                "referralCode": referrer.referral_code.lower(),
            }
        },
    )
    # then they join, and the referral counts, not yet qualified
    assert joined["enrollMember"]["errors"] == []

    stats = (await api.admin(STATS, {"externalId": referrer.external_id}))["member"]
    assert stats["referrals"] == {"count": 1, "qualifiedCount": 0, "pointsEarned": 0}

    # and when the referee's first order of 1,000,000 is recorded
    recorded = await api.integration(
        ORDER,
        {"input": {"orderId": "ref-o-1", "memberExternalId": "referee-api-1", "amount": "1000000"}},
    )
    # then it earns them 50 and the referrer 20, and the referral qualifies
    assert recorded["recordOrder"]["referralPointsAwarded"] == 20
    assert recorded["recordOrder"]["pointsEarned"] == 50
    assert await balance(referrer) == 20

    stats = (await api.admin(STATS, {"externalId": referrer.external_id}))["member"]
    assert stats["referrals"] == {"count": 1, "qualifiedCount": 1, "pointsEarned": 20}
    referee = (await api.admin(STATS, {"externalId": "referee-api-1"}))["member"]
    assert referee["referredBy"] == {
        "id": str(referrer.id),
        "displayName": referrer.display_name,
        "tierCode": None,
    }
    assert referee["referrals"] == {"count": 0, "qualifiedCount": 0, "pointsEarned": 0}
    posting = await Posting.filter(member_id=referrer.id, reason="REFERRAL").get()
    assert posting.order_id == "ref-o-1"
    await assert_books_balance()


async def test_a_self_referral_by_phone_is_rejected_and_leaves_no_member(api: Api) -> None:
    # given a member with a referral code and a phone
    referrer = await enrol(phone="0901000003")
    # when someone enrols with the code and the same phone
    data = await api.admin(
        ENROL,
        {
            "input": {
                "externalId": "self-ref-1",
                "displayName": "Me Again",
                "phone": "+84 901 000 003",  # the same number, written differently
                "referralCode": referrer.referral_code,
            }
        },
    )
    # then it is REFERRAL_REJECTED naming the code, and no member or referral is left
    assert data["enrollMember"]["member"] is None
    assert data["enrollMember"]["errors"] == [
        {"code": "REFERRAL_REJECTED", "field": ["input", "referralCode"]}
    ]
    assert not await Member.exists(external_id="self-ref-1")
    assert await Referral.all().count() == 0


# ------------------------------------------------------------------ rejections


async def rejected(**fields: Any) -> None:
    members_before = await Member.all().count()
    postings_before = await Posting.all().count()
    with pytest.raises(ReferralRejected) as err:
        await enrol(**fields)
    assert err.value.field == ["referral_code"]
    assert await Member.all().count() == members_before
    assert await Posting.all().count() == postings_before


async def test_an_unknown_code_is_rejected() -> None:
    # given welcome points
    await program(welcome_points=10)
    # when someone enrols with an unknown code
    # then it is rejected, leaving nothing (rejected)
    await rejected(referral_code="NOSUCHCODE")


async def test_the_referrers_own_email_is_rejected_whatever_its_case() -> None:
    # given a member with an email, and welcome points of both kinds
    referrer = await enrol(email="an.nguyen@example.com")
    await program(welcome_points=10, referral_welcome_points=5)
    # when someone enrols with their code and their email in another case
    # then it is rejected, leaving nothing (rejected)
    await rejected(email="AN.Nguyen@Example.com", referral_code=referrer.referral_code)


async def test_a_referrer_at_the_cap_is_rejected() -> None:
    # given a cap of two referrals a member, reached
    await program(referral_max_per_member=2)
    referrer = await enrol()
    await enrol(referral_code=referrer.referral_code)
    await enrol(referral_code=referrer.referral_code)
    # when a third enrols with the code
    # then it is rejected, leaving nothing, and the referrer keeps two
    await rejected(referral_code=referrer.referral_code)
    assert await Referral.filter(referrer_id=referrer.id).count() == 2


@pytest.mark.skipif(not backends.ON_POSTGRES, reason="races need PostgreSQL")
async def test_concurrent_enrolments_cannot_pass_the_cap() -> None:
    # given a cap of three referrals a member
    await program(referral_max_per_member=3)
    referrer = await enrol()
    # when ten enrol with the code at once
    results = await asyncio.gather(
        *(enrol(referral_code=referrer.referral_code) for _ in range(10)),
        return_exceptions=True,
    )
    # then three join, the others are rejected
    assert sum(isinstance(r, Member) for r in results) == 3
    assert all(isinstance(r, Member | ReferralRejected) for r in results), results
    assert await Referral.filter(referrer_id=referrer.id).count() == 3
    assert await Member.all().count() == 4


# ------------------------------------------------------------------ rewards


async def test_welcome_and_referral_welcome_points_are_credited_at_enrolment() -> None:
    # given 100 welcome points and 50 more for the referred
    await program(welcome_points=100, referral_welcome_points=50)
    # when a member enrols, and another with their code
    referrer = await enrol()
    # then the first holds 100, the referred 150, welcome and referral
    assert await balance(referrer) == 100
    referee = await enrol(referral_code=referrer.referral_code)
    assert await balance(referee) == 150
    reasons = (
        await Posting.filter(member_id=referee.id).order_by("id").values_list("reason", flat=True)
    )
    assert list(reasons) == ["WELCOME", "REFERRAL"]
    assert await balance(referrer) == 100  # the referrer earns from orders, not sign-ups


async def test_commission_is_floored_and_only_within_the_window() -> None:
    # given a commission of 2.5% for 90 days, and a referee
    await program(referral_window_days=90, referral_rate_percent=Decimal("2.5"))
    clock.freeze(T0)
    referrer = await enrol()
    referee = await enrol(referral_code=referrer.referral_code)
    # when they order within the window, at its end and past it
    # then the commission is floored, paid within the window only
    assert (await order(referee, 999_999)).referral_points_awarded == 24  # 24.999975
    clock.advance(timedelta(days=90))
    assert (await order(referee, 1_000_000)).referral_points_awarded == 25
    clock.advance(timedelta(seconds=1))
    assert (await order(referee, 1_000_000)).referral_points_awarded == 0
    assert await balance(referrer) == 49


async def test_a_referral_qualifies_on_the_first_order_even_after_the_window() -> None:
    # given a referee, 200 days after joining
    clock.freeze(T0)
    referrer = await enrol()
    referee = await enrol(referral_code=referrer.referral_code)
    clock.advance(timedelta(days=200))
    # when they order for the first time
    # then no commission is paid, but the referral qualifies
    assert (await order(referee, 1_000_000)).referral_points_awarded == 0
    referral = await Referral.get(referee_id=referee.id)
    assert referral.qualified_at == clock.now()
    assert referral.points_earned == 0


async def test_refunds_reverse_the_commission_in_proportion() -> None:
    # given a referee's order that paid a commission of 20
    referrer = await enrol()
    referee = await enrol(referral_code=referrer.referral_code)
    placed = await order(referee, 1_000_000)
    assert placed.referral_points_awarded == 20
    # when it is refunded a quarter at a time, then the rest
    await refund(placed.order.order_id, 250_000)
    # then the commission is reversed in proportion, to zero
    assert await balance(referrer) == 15
    await refund(placed.order.order_id, 250_000)
    assert await balance(referrer) == 10
    await refund(placed.order.order_id)
    assert await balance(referrer) == 0
    assert (await Referral.get(referee_id=referee.id)).points_earned == 0
    await assert_books_balance()


async def test_a_refund_after_the_referrer_spent_the_commission_leaves_them_negative() -> None:
    # given a referee's order that paid a commission the referrer spent
    referrer = await enrol()
    referee = await enrol(referral_code=referrer.referral_code)
    placed = await order(referee, 1_000_000)
    await ledger.debit(referrer.id, 20, Reason.REDEMPTION)
    # when the order is refunded
    await refund(placed.order.order_id)
    # then the referrer's balance goes negative, and the books balance
    assert await balance(referrer) == -20
    await assert_books_balance()


async def test_a_repeated_order_pays_the_commission_once() -> None:
    # given a referee
    referrer = await enrol()
    referee = await enrol(referral_code=referrer.referral_code)
    # when their order is recorded twice
    first = await order(referee, 1_000_000, order_id="same-order")
    again = await order(referee, 1_000_000, order_id="same-order")
    # then both answer the commission, paid once
    assert (first.referral_points_awarded, again.referral_points_awarded) == (20, 20)
    assert again.duplicate
    assert await balance(referrer) == 20
