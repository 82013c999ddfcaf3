"""Voucher stock and per-member limits under concurrent claims (PostgreSQL: SQLite
serializes writers and proves nothing about races)."""

from __future__ import annotations

import asyncio

import pytest

from core.errors import DomainError, ErrorCode
from rewards.vouchers import service as vouchers
from rewards.vouchers.models import Voucher, VoucherOffer
from tests import backends
from tests.rewards.checks import assert_books_balance, balance
from tests.rewards.factories import member_with, offer

pytestmark = pytest.mark.skipif(not backends.ON_POSTGRES, reason="races need PostgreSQL")


async def _claim(member_id: int, offer_id: int) -> ErrorCode | None:
    try:
        await vouchers.claim(member_id, offer_id)
    except DomainError as exc:
        return exc.code
    return None


async def test_64_concurrent_claims_of_stock_5_give_exactly_5() -> None:
    # given 64 members with 100 points each and an offer of 5 at 100 points
    members = [await member_with(100) for _ in range(64)]
    o = await offer(stock=5, points_cost=100)
    # when they all claim at once
    outcomes = await asyncio.gather(*(_claim(m.id, o.id) for m in members))
    # then exactly 5 get a voucher and pay; the others get OUT_OF_STOCK and keep their points
    assert outcomes.count(None) == 5
    assert outcomes.count(ErrorCode.OUT_OF_STOCK) == 59
    assert await Voucher.filter(offer_id=o.id).count() == 5
    assert (await VoucherOffer.get(id=o.id)).claimed == 5
    balances = [await balance(m) for m in members]
    assert sorted(balances) == [0] * 5 + [100] * 59
    await assert_books_balance()


async def test_one_member_racing_claims_stays_within_the_limit() -> None:
    # given a member with plenty of points and an offer limited to 2 per member
    member = await member_with(1000)
    o = await offer(points_cost=10, per_member_limit=2)
    # when they fire 10 claims at once
    outcomes = await asyncio.gather(*(_claim(member.id, o.id) for _ in range(10)))
    # then exactly 2 succeed and only 2 are paid for
    assert outcomes.count(None) == 2
    assert outcomes.count(ErrorCode.LIMIT_REACHED) == 8
    assert await Voucher.filter(member_id=member.id).count() == 2
    assert await balance(member) == 980
    await assert_books_balance()
