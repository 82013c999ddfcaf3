"""Member.tierStatus: what a member must still earn, and by when, to keep their tier."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from core import clock
from rewards.tiers import service as tiers
from tests.conftest import Api
from tests.members.care_api import TIER_STATUS
from tests.rewards.factories import enrol, order, program, standard_tiers
from tests.statements import counting

T0 = datetime(2026, 1, 10, 3, 0, tzinfo=UTC)
YEAR = timedelta(days=365)
GRACE = timedelta(days=30)


async def status_of(api: Api, external_id: str) -> dict[str, Any]:
    return (await api.integration(TIER_STATUS, {"e": external_id}))["member"]  # type: ignore[no-any-return]


async def test_a_member_with_room_to_spare_is_safe_until_the_window_moves(api: Api) -> None:
    # given Silver points (100) and, ten days later, Gold points (300): 400 counted
    await standard_tiers()
    clock.freeze(T0)
    m = await enrol()
    await order(m, 2_000_000)
    clock.advance(timedelta(days=10))
    await order(m, 6_000_000)
    # when the member looks at their tier
    found = await status_of(api, m.external_id)
    # then the oldest points leave the window a year after they were earned, and the 300
    # left then still keep Gold
    assert found["tier"]["code"] == "GOLD" and found["tierPoints"] == 400
    assert found["tierStatus"] == {
        "atRisk": False,
        "pointsToKeep": 0,
        "reviewAt": (T0 + YEAR).isoformat(),
    }


async def test_earning_points_to_keep_before_review_at_keeps_the_tier(api: Api) -> None:
    # given Gold reached with 300 points, and 50 more 200 days later
    await standard_tiers()
    clock.freeze(T0)
    m = await enrol()
    await order(m, 6_000_000)
    clock.advance(timedelta(days=200))
    await order(m, 1_000_000)
    # then when the first 300 leave the window only 50 will count: 250 short of Gold
    found = (await status_of(api, m.external_id))["tierStatus"]
    assert found == {"atRisk": True, "pointsToKeep": 250, "reviewAt": (T0 + YEAR).isoformat()}
    # when the member earns exactly that before the review
    clock.advance(timedelta(days=100))
    await order(m, 5_000_000)
    assert (await status_of(api, m.external_id))["tierStatus"]["atRisk"] is False
    # then after the window moved and the review ran, Gold is kept
    clock.freeze(T0 + YEAR + timedelta(hours=1))
    await tiers.review_tiers()
    after = await status_of(api, m.external_id)
    assert after["tier"]["code"] == "GOLD" and after["tierPoints"] == 300
    assert after["tierGraceUntil"] is None


async def test_in_grace_the_deadline_is_the_end_of_grace(api: Api) -> None:
    # given a Gold member whose points left the window: the review starts their grace
    await standard_tiers()
    clock.freeze(T0)
    m = await enrol()
    await order(m, 6_000_000)
    clock.advance(timedelta(days=200))
    await order(m, 1_000_000)
    clock.freeze(T0 + YEAR + timedelta(hours=1))
    # when their status is read before the review job ran
    # then the grace it will start is already the deadline
    before_job = (await status_of(api, m.external_id))["tierStatus"]
    assert before_job == {
        "atRisk": True,
        "pointsToKeep": 250,
        "reviewAt": (clock.now() + GRACE).isoformat(),
    }
    # and when the review job runs
    await tiers.review_tiers()
    found = await status_of(api, m.external_id)
    # then the member keeps Gold for now, with 250 to earn by the end of grace
    assert found["tier"]["code"] == "GOLD" and found["tierPoints"] == 50
    assert found["tierGraceUntil"] == (clock.now() + GRACE).isoformat()
    assert found["tierStatus"] == {
        "atRisk": True,
        "pointsToKeep": 250,
        "reviewAt": found["tierGraceUntil"],
    }
    # and if they do not earn them, grace ends one step down
    clock.advance(GRACE + timedelta(minutes=1))
    await tiers.review_tiers()
    assert (await status_of(api, m.external_id))["tier"]["code"] == "SILVER"


async def test_points_leaving_during_grace_count_against_the_member(api: Api) -> None:
    # given Gold from 300 points earned in three orders a month apart
    await standard_tiers()
    await program(tier_grace_days=45)
    clock.freeze(T0)
    m = await enrol()
    for _ in range(3):
        await order(m, 2_000_000)
        clock.advance(timedelta(days=30))
    # when the first 100 leave the window, grace starts (45 days)
    clock.freeze(T0 + YEAR + timedelta(hours=1))
    await tiers.review_tiers()
    # then by the end of grace the second 100 will have left too: 200 are missing
    found = await status_of(api, m.external_id)
    assert found["tierPoints"] == 200
    assert found["tierStatus"]["pointsToKeep"] == 200
    assert found["tierStatus"]["reviewAt"] == found["tierGraceUntil"]


async def test_lifetime_points_and_the_starting_tier_are_never_at_risk(api: Api) -> None:
    # given the standard tiers, counted for a lifetime
    await standard_tiers()
    await program(tier_window="LIFETIME")
    clock.freeze(T0)
    # and a Gold member, and a newcomer in the starting tier
    gold = await enrol()
    await order(gold, 6_000_000)
    newcomer = await enrol()
    # when three years pass
    clock.advance(3 * YEAR)
    # then neither is at risk
    safe = {"atRisk": False, "pointsToKeep": 0, "reviewAt": None}
    assert (await status_of(api, gold.external_id))["tierStatus"] == safe
    starting = await status_of(api, newcomer.external_id)
    assert starting["tier"]["code"] == "MEMBER" and starting["tierStatus"] == safe


async def test_member_lists_load_tier_status_without_a_query_per_member(api: Api) -> None:
    # given the standard tiers, a member list query with tier statuses and consents
    await standard_tiers()
    query = """{ members(first: 50) { edges { node {
        tierStatus { atRisk pointsToKeep reviewAt } consents { channel granted } } } } }"""

    # and 2, then 22 members holding Gold
    async def count_queries(members: int) -> int:
        for _ in range(members):
            m = await enrol()
            await order(m, 6_000_000)
        with counting() as found:
            data = await api.admin(query)
        assert len(data["members"]["edges"]) >= members
        return found.count

    # when the list is read for each
    few = await count_queries(2)
    many = await count_queries(20)
    # then both reads cost the same statements
    assert 0 < few == many
