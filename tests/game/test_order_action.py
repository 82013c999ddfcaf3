"""Every recorded order is also the built-in `order` action, counted in the same transaction."""

from __future__ import annotations

from decimal import Decimal

from core.settings import Settings
from game.models import Action
from tests import factories
from tests.conftest import Api
from tests.game import factories as game

RECORD = """mutation($i: RecordOrderInput!) { recordOrder(input: $i) {
  pointsEarned duplicate errors { code } } }"""


async def order(
    api: Api, member_external_id: str, order_id: str, amount: int, channel: str
) -> None:
    data = await api.integration(
        RECORD,
        {
            "i": {
                "orderId": order_id,
                "memberExternalId": member_external_id,
                "amount": str(amount),
                "channel": channel,
            }
        },
    )
    assert data["recordOrder"]["errors"] == []


async def test_orders_move_sum_missions_with_a_channel_filter(api: Api, settings: Settings) -> None:
    # given a mission of 1,000,000 VND spent in the app, and a member
    await game.mission(
        api,
        title="Spend 1M in the app",
        actionType="order",
        measure="SUM",
        target=1_000_000,
        filter={"channel": "app"},
        reward={"points": 7},
    )
    member = await factories.member()
    # when the member orders 600,000 in the app and 900,000 in a store
    await order(api, member.external_id, "o-1", 600_000, "app")
    await order(api, member.external_id, "o-2", 900_000, "store")
    # then only the app's order counts
    [progress] = await game.my_missions(api, member, settings)
    assert (progress["progress"], progress["completed"]) == (600_000.0, False)
    # and when they order 400,000 more in the app, it is complete
    await order(api, member.external_id, "o-3", 400_000, "app")
    [progress] = await game.my_missions(api, member, settings)
    assert progress["completed"] is True
    # and they hold the order points (5% of 1.9M at 1000 per point = 95) plus the mission's 7
    assert (await game.me(api, member, settings))["pointsBalance"] == 95 + 7


async def test_an_order_counts_once_and_earns_no_action_points(api: Api) -> None:
    # given a mission of two orders, and a member
    await game.mission(api, actionType="order", target=2)
    member = await factories.member()
    # when the same order is recorded twice
    await order(api, member.external_id, "o-1", 100_000, "app")
    await order(api, member.external_id, "o-1", 100_000, "app")  # a retried order
    # then it is one order action, which earns no action points
    rows = await Action.all()
    assert [(r.action_type, r.value, r.attributes, r.points_awarded) for r in rows] == [
        ("order", Decimal("100000"), {"channel": "app"}, 0)
    ]


async def test_orders_stamp_cards(api: Api, settings: Settings) -> None:
    # given a stamp card of three orders, and a member
    data = await api.admin(
        """mutation($i: StampCardInput!) { createStampCard(input: $i) { errors { code } } }""",
        {"i": {"name": "Visits", "actionType": "order", "slots": 3, "reward": {"points": 1}}},
    )
    assert data["createStampCard"]["errors"] == []
    member = await factories.member()
    # when the member orders three times
    for n in range(3):
        await order(api, member.external_id, f"o-{n}", 10_000, "store")
    # then the card is complete
    token = factories.token_for(member, settings)
    mine = await api("{ myStampCards { stamps completedCount } }", token=token)
    assert mine["myStampCards"] == [{"stamps": 0, "completedCount": 1}]
