"""One member's whole relationship, built through the API: every kind of care event once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core import clock
from core.settings import Settings
from members.models import Member
from members.program import ProgramChanges, update_program
from tests import factories
from tests.conftest import Api
from tests.game.factories import action_type, badge, mission, track
from tests.members.care_api import SET_CONSENTS, update
from tests.rewards.factories import enrol, offer, standard_tiers
from tests.rewards.ledger_api import record, refund

# 10:00 in Ho Chi Minh City on Friday 20/11/2026.
T0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
NPS_COMMENT = "Cà phê ngon, nhưng chờ hơi lâu"

CLAIM = """mutation($o: ID!) { claimVoucher(offerId: $o) { voucher { code } errors { code } } }"""
REDEEM = """mutation($i: RedeemVoucherInput!) { redeemVoucher(input: $i) {
  discount errors { code } } }"""
NPS = """mutation($s: Int!, $c: String) { submitNps(score: $s, comment: $c) {
  pointsAwarded errors { code } } }"""


@dataclass
class Story:
    member: Member
    token: str
    voucher_code: str


def hour() -> None:
    clock.advance(timedelta(hours=1))


async def tell(api: Api, settings: Settings, external_id: str = "care-1") -> Story:
    clock.freeze(T0)
    await standard_tiers()
    await update_program(ProgramChanges(welcome_points=50))
    await action_type(api, "review.posted", clientReportable=True)
    await badge(api, "reviewer", name="Người đánh giá")
    await mission(
        api,
        title="Viết một đánh giá",
        actionType="review.posted",
        target=1,
        reward={"points": 10, "badgeCode": "reviewer"},
    )
    voucher_offer = await offer(name="Giảm 50.000 ₫", points_cost=100)
    m = await enrol(external_id=external_id, display_name="Nguyễn Thị Lan", phone="0901234567")
    token = factories.token_for(m, settings, timedelta(days=30))
    hour()
    assert (await record(api, "HD-1001", external_id, 345000))["errors"] == []
    hour()
    changed = await update(
        api, "test-integration-key", memberExternalId=external_id, phone="0912 345 678"
    )
    assert changed["errors"] == []
    hour()
    consent = await api(SET_CONSENTS, {"c": [{"channel": "SMS", "granted": True}]}, token=token)
    assert consent["setConsents"]["errors"] == []
    hour()
    assert (await refund(api, "HD-1001", "R-1", 100000))["errors"] == []
    hour()
    assert (await record(api, "HD-1002", external_id, 6000000))["errors"] == []
    hour()
    claimed = (await api(CLAIM, {"o": str(voucher_offer.id)}, token=token))["claimVoucher"]
    assert claimed["errors"] == []
    hour()
    redeemed = await api.integration(
        REDEEM,
        {"i": {"code": claimed["voucher"]["code"], "orderId": "HD-1003", "orderAmount": "200000"}},
    )
    assert redeemed["redeemVoucher"]["errors"] == []
    hour()
    assert (await track(api, m))["errors"] == []
    hour()
    answered = await api(NPS, {"s": 9, "c": NPS_COMMENT}, token=token)
    assert answered["submitNps"]["errors"] == []
    return Story(member=m, token=token, voucher_code=claimed["voucher"]["code"])
