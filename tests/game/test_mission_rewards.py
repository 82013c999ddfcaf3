"""Mission and stamp-card rewards reach the other areas: free spins, vouchers, badges."""

from __future__ import annotations

from typing import Any

from core.settings import Settings
from tests import factories
from tests.conftest import Api
from tests.game import factories as game

WHEEL = """mutation($i: SpinWheelInput!) { createSpinWheel(input: $i) {
  wheel { id } errors { code } } }"""
OFFER = """mutation($i: VoucherOfferInput!) { createVoucherOffer(input: $i) {
  offer { id } errors { code } } }"""
MINE = """{ spinWheels { id freeSpins } myVouchers { offer { id } status } }"""
REWARD = """{ missions { reward {
  points spins spinWheel { id } voucherOffer { id } badge { code } } } }"""


async def _wheel(api: Api) -> str:
    data = await api.admin(
        WHEEL,
        {
            "i": {
                "name": "Lucky",
                "costPoints": 10,
                "segments": [{"label": "Try again", "weight": 1}],
            }
        },
    )
    assert data["createSpinWheel"]["errors"] == []
    return str(data["createSpinWheel"]["wheel"]["id"])


async def _offer(api: Api, **fields: Any) -> str:
    data = await api.admin(
        OFFER,
        {
            "i": {
                "name": "10% off",
                "pointsCost": 100,
                "discountType": "PERCENT",
                "discountValue": "10",
            }
            | fields
        },
    )
    assert data["createVoucherOffer"]["errors"] == []
    return str(data["createVoucherOffer"]["offer"]["id"])


async def test_completing_a_mission_grants_spins_and_a_voucher(
    api: Api, settings: Settings
) -> None:
    # given a mission of one review rewarding two free spins and a voucher
    await game.action_type(api, "review.posted")
    wheel, offer = await _wheel(api), await _offer(api)
    reward = {"spinWheelId": wheel, "spins": 2, "voucherOfferId": offer}
    await game.mission(api, target=1, reward=reward)
    # then admins see the reward
    shown = (await api.admin(REWARD))["missions"][0]["reward"]
    assert shown == {
        "points": None,
        "spins": 2,
        "spinWheel": {"id": wheel},
        "voucherOffer": {"id": offer},
        "badge": None,
    }
    # when a member completes it
    member = await factories.member()
    await game.track(api, member)
    # then they hold the spins and the voucher
    mine = await api(MINE, token=factories.token_for(member, settings))
    assert mine["spinWheels"] == [{"id": wheel, "freeSpins": 2}]
    assert mine["myVouchers"] == [{"offer": {"id": offer}, "status": "ACTIVE"}]


async def test_an_out_of_stock_voucher_does_not_block_the_action(
    api: Api, settings: Settings
) -> None:
    # given a mission of one review rewarding points and the only voucher in stock
    await game.action_type(api, "review.posted", points=3)
    offer = await _offer(api, stock=1)
    await game.mission(api, target=1, reward={"points": 5, "voucherOfferId": offer})
    # and two members
    first, second = await factories.member(), await factories.member()
    # when both complete it
    await game.track(api, first)
    payload = await game.track(api, second)
    # then the second still completes it and earns the points, without a voucher
    assert payload["errors"] == [] and payload["missions"][0]["completed"]
    assert (await game.me(api, second, settings))["pointsBalance"] == 8
    mine = await api(MINE, token=factories.token_for(second, settings))
    assert mine["myVouchers"] == []
