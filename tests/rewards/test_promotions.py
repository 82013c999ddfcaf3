"""Promotions: period, weekdays in the program's zone, tiers, action types, no stacking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from core import clock
from core.errors import InvalidInput
from core.settings import Settings
from rewards import promotions
from tests.conftest import Api
from tests.factories import token_for
from tests.rewards.checks import multiplier
from tests.rewards.factories import enrol, order, promotion, standard_tiers
from tests.rewards.tiers_api import PROMOTE

# Sunday 2026-03-08 20:00 UTC is Monday 03:00 in Asia/Ho_Chi_Minh (the default zone).
SUNDAY_NIGHT_UTC = datetime(2026, 3, 8, 20, 0, tzinfo=UTC)
MONDAY, SUNDAY = 1, 7


async def test_points_are_base_times_promotion_times_tier_floored_once() -> None:
    # given the standard tiers, a Gold member, and a promotion of x1.3
    await standard_tiers()
    clock.freeze(SUNDAY_NIGHT_UTC)
    m = await enrol()
    await order(m, 6_000_000)  # Gold, x1.5
    await promotion("1.3", clock.now() - timedelta(hours=1), clock.now() + timedelta(hours=1))
    # when an order of 19,999 VND is recorded: base 0.99995 x 1.3 x 1.5 = 1.95
    # then it earns 1, floored once, not per factor (and 1,000,000 earns 97.5 -> 97)
    assert (await order(m, 19_999)).points_earned == 1
    assert (await order(m, 1_000_000)).points_earned == 97  # 50 x 1.3 x 1.5 = 97.5


async def test_a_promotion_applies_only_between_starts_at_and_ends_at() -> None:
    # given a member, and a promotion of x2 from an hour later for an hour
    clock.freeze(SUNDAY_NIGHT_UTC)
    m = await enrol()
    await promotion("2", clock.now() + timedelta(hours=1), clock.now() + timedelta(hours=2))
    # when they order before, during and at its end
    # then only the order during it is doubled (endsAt is exclusive)
    assert (await order(m, 1_000_000)).points_earned == 50
    clock.advance(timedelta(hours=1))
    assert (await order(m, 1_000_000)).points_earned == 100
    clock.advance(timedelta(hours=1))  # endsAt is exclusive
    assert (await order(m, 1_000_000)).points_earned == 50


async def test_weekdays_are_those_of_the_program_zone() -> None:
    # given a member, on Sunday night UTC, Monday in Ho Chi Minh
    clock.freeze(SUNDAY_NIGHT_UTC)
    m = await enrol()
    week = (clock.now() - timedelta(days=3), clock.now() + timedelta(days=3))
    # when a Sunday promotion and a Monday one are on
    await promotion("2", *week, days_of_week=[SUNDAY])
    # then the Sunday one does not apply (Monday in Ho Chi Minh), the Monday one does
    assert (await order(m, 1_000_000)).points_earned == 50  # Monday in Ho Chi Minh
    await promotion("3", *week, days_of_week=[MONDAY])
    assert (await order(m, 1_000_000)).points_earned == 150


async def test_overlapping_promotions_do_not_stack_the_highest_wins() -> None:
    # given a member, and promotions of x2, x3 and x1.5 at once
    clock.freeze(SUNDAY_NIGHT_UTC)
    m = await enrol()
    week = (clock.now() - timedelta(days=3), clock.now() + timedelta(days=3))
    await promotion("2", *week)
    await promotion("3", *week)
    await promotion("1.5", *week)
    # when they order
    # then the highest applies alone
    assert (await order(m, 1_000_000)).points_earned == 150


async def test_tier_codes_limit_a_promotion_to_those_tiers() -> None:
    # given a Gold and a Silver member, and a promotion of x2 for Gold
    await standard_tiers()
    clock.freeze(SUNDAY_NIGHT_UTC)
    gold, silver = await enrol(), await enrol()
    await order(gold, 6_000_000)
    await order(silver, 2_000_000)
    await promotion("2", clock.now(), clock.now() + timedelta(days=1), tier_codes=["GOLD"])
    # when both order
    # then only Gold's order is doubled (on top of its x1.5)
    assert (await order(gold, 1_000_000)).points_earned == 150
    assert (await order(silver, 1_000_000)).points_earned == 50


async def test_action_types_limit_a_promotion_and_order_stands_for_orders() -> None:
    # given a member, and a promotion of x2 on reviews only
    clock.freeze(SUNDAY_NIGHT_UTC)
    m = await enrol()
    window = (clock.now(), clock.now() + timedelta(days=1))
    await promotion("2", *window, action_types=["review.posted"])
    # when they order, or would review
    # then the order is not multiplied, the review is
    assert (await order(m, 1_000_000)).points_earned == 50
    assert await multiplier(m, "review.posted") == Decimal(2)
    assert await multiplier(m, "checkin") == Decimal(1)
    # and a promotion of x3 on `order` applies to orders
    await promotion("3", *window, action_types=["order"])
    assert (await order(m, 1_000_000)).points_earned == 150
    assert await multiplier(m, "review.posted") == Decimal(2)


async def test_the_promotion_is_judged_at_the_order_time_given() -> None:
    # given a member, and a promotion that ended yesterday
    clock.freeze(SUNDAY_NIGHT_UTC)
    m = await enrol()
    await promotion("2", clock.now() - timedelta(days=2), clock.now() - timedelta(days=1))
    # when an order placed during it is recorded now
    late = await order(m, 1_000_000, occurred_at=clock.now() - timedelta(days=1, hours=12))
    # then it is judged at the time it was placed
    assert late.points_earned == 100


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"multiplier": Decimal(0)}, "multiplier"),
        ({"multiplier": Decimal(101)}, "multiplier"),
        ({"name": "  "}, "name"),
        ({"ends_at": datetime(2026, 1, 1, tzinfo=UTC)}, "ends_at"),
        ({"days_of_week": [0]}, "days_of_week"),
        ({"days_of_week": [8]}, "days_of_week"),
        ({"days_of_week": []}, "days_of_week"),
        ({"tier_codes": ["NOPE"]}, "tier_codes"),
        ({"action_types": []}, "action_types"),
    ],
)
async def test_bad_promotions_name_the_field_and_write_nothing(
    changes: dict[str, Any], field: str
) -> None:
    # given a promotion wrong in one field
    data = promotions.PromotionData(
        name="Bad",
        multiplier=Decimal(2),
        starts_at=datetime(2026, 1, 2, tzinfo=UTC),
        ends_at=datetime(2026, 1, 9, tzinfo=UTC),
    )
    for key, value in changes.items():
        setattr(data, key, value)
    # when it is created
    with pytest.raises(InvalidInput) as err:
        await promotions.create_promotion(data)
    # then it is refused naming that field, and nothing is written
    assert err.value.field == field.split(".")
    assert await promotions.list_promotions() == []


async def test_promotions_through_the_api_are_for_admins(api: Api, settings: Settings) -> None:
    # given the standard tiers, and a promotion of Gold Mondays
    await standard_tiers()
    payload = {
        "name": "Gold Mondays",
        "multiplier": 2.0,
        "startsAt": "2026-03-01T00:00:00+00:00",
        "endsAt": "2026-04-01T00:00:00+00:00",
        "daysOfWeek": [1],
        "tierCodes": ["GOLD"],
        "actionTypes": ["order", "review.posted"],
    }
    # when an admin creates it
    created = (await api.admin(PROMOTE, {"input": payload}))["createPromotion"]
    # then it is created as given
    assert created["errors"] == []
    assert created["promotion"]["multiplier"] == 2.0
    assert created["promotion"]["daysOfWeek"] == [1]
    assert created["promotion"]["tierCodes"] == ["GOLD"]
    assert created["promotion"]["actionTypes"] == ["order", "review.posted"]

    # and listed
    listed = await api.admin("{ promotions { name daysOfWeek tierCodes actionTypes } }")
    assert listed["promotions"] == [
        {
            "name": "Gold Mondays",
            "daysOfWeek": [1],
            "tierCodes": ["GOLD"],
            "actionTypes": ["order", "review.posted"],
        }
    ]

    # and a bad one is INVALID_INPUT naming the field
    bad = await api.admin(PROMOTE, {"input": payload | {"endsAt": "2026-02-01T00:00:00+00:00"}})
    assert bad["createPromotion"]["errors"][0]["code"] == "INVALID_INPUT"
    assert bad["createPromotion"]["errors"][0]["field"] == ["input", "endsAt"]

    # and a member may neither list nor create promotions
    m = await enrol()
    refused = await api.raw("{ promotions { name } }", token=token_for(m, settings))
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    refused = await api.raw(PROMOTE, {"input": payload}, token=token_for(m, settings))
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
