"""Program analytics through the API, on a small program whose figures are worked out by hand."""

from __future__ import annotations

from datetime import timedelta

from core import clock
from core.events import unit_of_work
from engage import rfm
from game import action_types, actions
from rewards.ledger import service as ledger
from rewards.ledger.reasons import Reason
from tests.conftest import Api
from tests.engage import factories as f

ANALYTICS = """query($from: DateTime, $to: DateTime) { analytics(from: $from, to: $to) {
  members newMembers activeMembers retentionRate averageLifetimeValue
  pointsIssued pointsRedeemed redemptionRate
  tiers { tier { code } members } rfm { segment members }
  nps { score responses } } }"""

NOW = f.NOON_LOCAL


async def test_analytics_of_a_small_program(api: Api) -> None:
    # given tiers Member 0 and Silver 100, and four members enrolled over two months
    await f.tier("MEMBER", 0)
    await f.tier("SILVER", 100)
    clock.freeze(NOW - timedelta(days=60))
    anh = await f.member(external_id="anh")
    clock.freeze(NOW - timedelta(days=45))
    binh = await f.member(external_id="binh")
    clock.freeze(NOW - timedelta(days=40))
    await f.order(anh, 1_000_000)  # 50 points, before the range
    clock.freeze(NOW - timedelta(days=35))
    await f.order(binh, 2_000_000)  # 100 points, before the range: Binh goes Silver
    clock.freeze(NOW - timedelta(days=10))
    chi = await f.member(external_id="chi")
    clock.freeze(NOW - timedelta(days=5))
    dung = await f.member(external_id="dung")
    await f.order(anh, 1_000_000)  # 50 points in range: Anh goes Silver too
    clock.freeze(NOW - timedelta(days=3))
    await f.order(chi, 500_000)  # 25 points in range
    await action_types.upsert(action_types.ActionTypeData(key="app.opened", name="App opened"))
    await actions.track(dung.id, "app.opened", idempotency_key="open-1")
    clock.freeze(NOW)
    async with unit_of_work():
        await ledger.debit(anh.id, 30, Reason.REDEMPTION, description="discount")
    await rfm.recompute()
    # when the admin asks for the last 30 days
    data = await api.admin(ANALYTICS, {"from": (NOW - timedelta(days=30)).isoformat()})
    got = data["analytics"]
    # then: 4 members, 2 new (Chi, Dung), 3 active (Anh, Chi by orders; Dung by an action)
    assert (got["members"], got["newMembers"], got["activeMembers"]) == (4, 2, 3)
    # of Anh and Binh (active the 30 days before), only Anh is active again: 50%
    assert got["retentionRate"] == 50.0
    # (1,000,000 x 2 + 2,000,000 + 500,000) / 4 members
    assert got["averageLifetimeValue"] == "1125000.00"
    # 50 + 25 points issued in the range, 30 redeemed: 40%
    assert (got["pointsIssued"], got["pointsRedeemed"], got["redemptionRate"]) == ("75", "30", 40.0)
    assert got["tiers"] == [
        {"tier": {"code": "MEMBER"}, "members": 2},
        {"tier": {"code": "SILVER"}, "members": 2},
    ]
    assert sum(r["members"] for r in got["rfm"]) == 3
    assert got["nps"] == {"score": None, "responses": 0}


async def test_an_empty_program_and_a_backwards_range(api: Api) -> None:
    # given an empty program
    # when an admin reads the analytics
    got = (await api.admin(ANALYTICS))["analytics"]
    # then there is nothing to rate, and no division by zero
    assert got["members"] == 0 and got["retentionRate"] is None and got["redemptionRate"] is None
    assert got["averageLifetimeValue"] == "0"
    # and when the range asked for runs backwards, it is INVALID_INPUT
    body = await api.raw(
        ANALYTICS,
        {"from": NOW.isoformat(), "to": (NOW - timedelta(days=1)).isoformat()},
        token="test-admin-key",
    )
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
