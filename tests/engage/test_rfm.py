"""RFM scoring: quintiles over members with orders, the segment names, the job and command."""

from __future__ import annotations

import argparse
from datetime import timedelta

from core import clock
from core.settings import Settings
from engage import rfm
from engage.models import MemberRfm
from rewards.orders.service import refund_order
from server.cli import COMMANDS
from tests.conftest import Api
from tests.engage import factories as f

RFM = """query($e: String!) { member(externalId: $e) {
  rfm { recency frequency monetary segment computedAt } } }"""

# externalId: (days since each order, amount of each order)
SHOPPERS = {
    "champion": ([2, 3, 4, 5, 6, 7], 500_000),
    "newcomer": ([1 / 24], 200_000),
    "steady": ([10, 30, 60], 300_000),
    "promising": ([5, 8], 50_000),
    "lapsing": ([200, 210, 220, 230, 240], 500_000),
    "sleeper": ([300], 50_000),
}


async def rfm_of(api: Api, external_id: str) -> dict[str, object] | None:
    return (await api.admin(RFM, {"e": external_id}))["member"]["rfm"]  # type: ignore[no-any-return]


async def test_every_member_with_orders_is_scored_and_named(api: Api) -> None:
    # given six shoppers with different habits, one refunded buyer and one who never bought
    clock.freeze(f.NOON_LOCAL)
    for external_id, (days, amount) in SHOPPERS.items():
        m = await f.member(external_id=external_id)
        for d in days:
            await f.order(m, amount, clock.now() - timedelta(days=d))
    refunded = await f.member(external_id="refunded")
    gone = await f.order(refunded, 900_000, clock.now() - timedelta(days=1))
    await refund_order(gone.order_id, "r-gone", None)
    await f.member(external_id="browser")
    # when RFM is computed
    assert await rfm.recompute() == 6
    # then scores are quintiles over the six, and segments follow the documented rules
    expected = {
        "champion": (5, 5, 5, "CHAMPIONS"),
        "newcomer": (5, 1, 3, "NEW"),
        "steady": (3, 4, 4, "LOYAL"),
        "promising": (4, 3, 2, "POTENTIAL"),
        "lapsing": (2, 5, 5, "AT_RISK"),
        "sleeper": (1, 1, 1, "HIBERNATING"),
    }
    for external_id, (r, fr, m, segment) in expected.items():
        got = await rfm_of(api, external_id)
        assert got is not None, external_id
        assert (got["recency"], got["frequency"], got["monetary"], got["segment"]) == (
            r,
            fr,
            m,
            segment,
        ), external_id
        assert str(got["computedAt"]).startswith("2026-06-10T03:00")
    assert await rfm_of(api, "refunded") is None
    assert await rfm_of(api, "browser") is None


async def test_a_lone_buyer_is_a_champion_and_scores_drop_when_orders_are_refunded(
    api: Api,
) -> None:
    # given one member, a lone buyer
    clock.freeze(f.NOON_LOCAL)
    m = await f.member(external_id="only")
    placed = await f.order(m, 100_000)
    # when RFM is scored
    await rfm.recompute()
    # then they are a champion
    assert (await rfm_of(api, "only"))["segment"] == "CHAMPIONS"  # type: ignore[index]
    # and when their only order is refunded and RFM scored again, they have no score
    await refund_order(placed.order_id, "r-1", None)
    await rfm.recompute()
    assert await rfm_of(api, "only") is None


async def test_job_recomputes_hourly_and_the_command_at_once(settings: Settings) -> None:
    # given a member with an order
    clock.freeze(f.NOON_LOCAL)
    m = await f.member()
    await f.order(m, 100_000)
    # when the job runs, then again 59 minutes later, then an hour later
    # then it scores the first and last time only
    assert await rfm.recompute_if_due() == 1
    clock.advance(timedelta(minutes=59))
    assert await rfm.recompute_if_due() is None
    clock.advance(timedelta(minutes=1))
    assert await rfm.recompute_if_due() == 1
    # and when another member orders, `loyalty rfm` scores now, whatever the schedule
    await f.order(await f.member(), 50_000)
    assert await COMMANDS["rfm"].run(argparse.Namespace(), settings) == 0
    assert await MemberRfm.all().count() == 2
