"""Tiers and promotions through the GraphQL API, including the issue's done-when example."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core import clock
from core.settings import Settings
from tests.conftest import Api
from tests.factories import token_for
from tests.rewards.factories import enrol
from tests.rewards.tiers_api import (
    DELETE,
    PROMOTE,
    STANDARD,
    TIERS,
    UPSERT,
    create_standard_tiers,
    enrol_api,
    member_tier,
    record,
)
from tests.statements import counting

# ------------------------------------------------------------------ done when


async def test_done_when_gold_after_two_orders_then_75_and_150_with_double_points(
    api: Api,
) -> None:
    # given the standard tiers, and a member
    await create_standard_tiers(api)
    await enrol_api(api, "gold-1")

    # when their first order of 2,000,000 is recorded
    first = await record(api, "gold-1", "2000000")
    # then it earns 100, and they are Silver, 200 from Gold
    assert (first["pointsEarned"], first["tierPointsEarned"]) == (100, 100)
    silver = await member_tier(api, "gold-1")
    assert silver["tier"]["code"] == "SILVER"
    assert (silver["tierPoints"], silver["tierPointsToNext"]) == (100, 200)
    assert silver["nextTier"] == {"code": "GOLD", "threshold": 300}

    # and when an order of 4,000,000 makes them Gold, they hold Gold's benefits
    await record(api, "gold-1", "4000000")
    gold = await member_tier(api, "gold-1")
    assert gold == {
        "tierPoints": 300,
        "tierPointsToNext": 0,
        "tierGraceUntil": None,
        "tier": {
            "code": "GOLD",
            "earnMultiplier": 1.5,
            "voucherDiscountPercent": 5.0,
            "priceListCode": "GOLD-PRICES",
            "perks": ["Free delivery", "Birthday gift"],
        },
        "nextTier": None,
    }

    # and an order of 1,000,000 earns 50 x 1.5 = 75
    assert (await record(api, "gold-1", "1000000"))["pointsEarned"] == 75

    # and with a double points promotion, 150
    now = clock.now()
    promo = await api.admin(
        PROMOTE,
        {
            "input": {
                "name": "Double points weekend",
                "multiplier": 2.0,
                "startsAt": (now - timedelta(hours=1)).isoformat(),
                "endsAt": (now + timedelta(days=2)).isoformat(),
            }
        },
    )
    assert promo["createPromotion"]["errors"] == []
    assert (await record(api, "gold-1", "1000000"))["pointsEarned"] == 150


# ------------------------------------------------------------------ tiers


async def test_tiers_are_written_by_admins_and_read_by_anyone_signed_in(
    api: Api, settings: Settings
) -> None:
    # given the standard tiers, and a member
    await create_standard_tiers(api)
    m = await enrol()
    # when the member reads the tiers
    as_member = await api(TIERS, token=token_for(m, settings))
    # then they see them all, with their benefits
    assert [t["code"] for t in as_member["tiers"]] == ["MEMBER", "SILVER", "GOLD"]
    gold = as_member["tiers"][2]
    assert gold["voucherDiscountPercent"] == 5.0 and gold["perks"][0] == "Free delivery"

    # and a member may not write them, nor anyone unsigned read them
    refused = await api.raw(UPSERT, {"input": STANDARD[0]}, token=token_for(m, settings))
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = await api.raw(TIERS)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_taken_threshold_is_already_exists_on_threshold(api: Api) -> None:
    # given the standard tiers
    await create_standard_tiers(api)
    # when an admin creates another at Gold's threshold
    data = await api.admin(
        UPSERT, {"input": {"code": "PLATINUM", "name": "Platinum", "threshold": 300}}
    )
    # then it is ALREADY_EXISTS naming the threshold, and nothing is written
    assert data["upsertTier"]["tier"] is None
    assert data["upsertTier"]["errors"][0]["code"] == "ALREADY_EXISTS"
    assert data["upsertTier"]["errors"][0]["field"] == ["input", "threshold"]
    assert len((await api.admin(TIERS))["tiers"]) == 3


@pytest.mark.parametrize(
    ("tier", "field"),
    [
        ({"code": "X", "name": "X", "threshold": -5}, "threshold"),
        ({"code": "X", "name": " ", "threshold": 5}, "name"),
        ({"code": "X", "name": "X", "threshold": 5, "earnMultiplier": -1.0}, "earnMultiplier"),
        (
            {"code": "X", "name": "X", "threshold": 5, "voucherDiscountPercent": 120.0},
            "voucherDiscountPercent",
        ),
    ],
)
async def test_bad_tier_input_is_invalid_input_naming_the_field(
    api: Api, tier: dict[str, Any], field: str
) -> None:
    # given a tier wrong in one field
    # when an admin upserts it
    data = await api.admin(UPSERT, {"input": tier})
    # then it is INVALID_INPUT naming that field, and nothing is written
    assert data["upsertTier"]["errors"][0]["code"] == "INVALID_INPUT"
    assert data["upsertTier"]["errors"][0]["field"] == ["input", field]
    assert (await api.admin(TIERS))["tiers"] == []


async def test_delete_tier(api: Api) -> None:
    # given the standard tiers
    await create_standard_tiers(api)
    # when an admin deletes Silver, twice
    deleted = await api.admin(DELETE, {"code": "SILVER"})
    # then it goes once; the second time it is NOT_FOUND
    assert deleted["deleteTier"] == {"tier": {"code": "SILVER"}, "errors": []}
    missing = await api.admin(DELETE, {"code": "SILVER"})
    assert missing["deleteTier"]["errors"][0]["code"] == "NOT_FOUND"
    assert [t["code"] for t in (await api.admin(TIERS))["tiers"]] == ["MEMBER", "GOLD"]


async def test_the_member_sees_their_grace_period(api: Api, settings: Settings) -> None:
    from rewards.tiers import service as tiers

    # given the standard tiers, and a Silver member whose points left the window
    await create_standard_tiers(api)
    clock.freeze(datetime(2026, 1, 5, 2, 0, tzinfo=UTC))
    await enrol_api(api, "grace-1")
    await record(api, "grace-1", "2000000")
    clock.advance(timedelta(days=366))
    # when the review runs
    await tiers.review_tiers()
    # then the member sees they keep Silver until the end of grace
    me = await member_tier(api, "grace-1")
    assert me["tier"]["code"] == "SILVER" and me["tierPoints"] == 0
    until = datetime.fromisoformat(me["tierGraceUntil"])
    assert until == clock.now() + timedelta(days=30)


async def test_member_lists_load_tier_fields_without_a_query_per_member(api: Api) -> None:
    # given the standard tiers, a member list query with tier fields, and 2, then 22 members
    await create_standard_tiers(api)
    query = """{ members(first: 50) { edges { node {
        tierPoints tier { code } nextTier { code } tierPointsToNext tierGraceUntil
        referredBy { id tierCode } referrals { count qualifiedCount pointsEarned } } } } }"""

    async def count_queries(members: int) -> int:
        for _ in range(members):
            await enrol()
        with counting() as found:
            data = await api.admin(query)
        assert len(data["members"]["edges"]) >= members
        return found.count

    # when the list is read for each
    few = await count_queries(2)
    many = await count_queries(20)
    # then both reads cost the same statements
    assert 0 < few == many


async def test_the_member_list_filters_by_tier(api: Api) -> None:
    # given the standard tiers, and a Gold, a Silver and a starting member
    await create_standard_tiers(api)
    for name, amount in [("f-gold", "6000000"), ("f-silver", "2000000"), ("f-new", None)]:
        await enrol_api(api, name)
        if amount:
            await record(api, name, amount)
    query = (
        "query($t: String) { members(tierCode: $t) { totalCount edges { node { externalId } } } }"
    )

    async def listed(code: str | None) -> list[str]:
        data = await api.admin(query, {"t": code})
        return [e["node"]["externalId"] for e in data["members"]["edges"]]

    # when the member list is filtered by each tier, an unknown one, and none
    # then each lists its holders only
    assert await listed("GOLD") == ["f-gold"]
    assert await listed("SILVER") == ["f-silver"]
    assert await listed("MEMBER") == ["f-new"]
    assert await listed("NOPE") == []
    assert len(await listed(None)) == 3
