"""Builders for engage tests: members, orders, tiers, segments, campaigns (through the
domain), and one member's whole story with the program (`tell`, through the API)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from core import clock
from core.settings import Settings
from engage import background
from members.models import Member
from members.program import ProgramChanges, update_program
from rewards.orders import service as orders
from rewards.tiers import service as tiers
from tests import factories
from tests.conftest import Api
from tests.game.factories import action_type, badge, mission, track
from tests.members.care_api import SET_CONSENTS, update
from tests.rewards.factories import enrol, offer, standard_tiers
from tests.rewards.ledger_api import record, refund

_orders = itertools.count(1)

# A Wednesday, 10:00 in Ho Chi Minh City (UTC+7): outside the default quiet hours.
NOON_LOCAL = datetime(2026, 6, 10, 3, 0, tzinfo=UTC)


def at(year: int, month: int, day: int, hour: int = 3, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


async def member(**fields: Any) -> Member:
    return await factories.member(**fields)


def welcome(m: Member) -> str:
    """The title of the welcome message that enrolment leaves in every member's inbox."""
    return f"Chào mừng {m.display_name}!"


async def june_member(**fields: Any) -> Member:
    return await member(birthday=date(1990, 6, 15), **fields)


async def order(m: Member, amount: int | str, when: datetime | None = None) -> orders.Order:
    result = await orders.record_order(
        f"o-{next(_orders)}", m.external_id, Decimal(str(amount)), when or clock.now()
    )
    return result.order


async def tier(code: str, threshold: int, name: str | None = None) -> None:
    await tiers.upsert_tier(
        tiers.TierData(code=code, name=name or code.title(), threshold=threshold)
    )


async def program(**changes: Any) -> None:
    clear = tuple(k for k, v in changes.items() if v is None)
    values = {k: v for k, v in changes.items() if v is not None}
    await update_program(ProgramChanges(**values, clear=clear))


CREATE_SEGMENT = """
mutation($input: SegmentInput!) {
  createSegment(input: $input) {
    segment { id name memberCount }
    errors { code message field }
  }
}"""

CREATE_CAMPAIGN = """
mutation($input: NotificationCampaignInput!) {
  createNotificationCampaign(input: $input) {
    campaign { id status sendAt stats { targeted delivered suppressedByCap deferredByQuietHours } }
    errors { code message field }
  }
}"""

CAMPAIGNS = """{ campaigns { id title status
  stats { targeted delivered suppressedByCap deferredByQuietHours } } }"""

INBOX = """query($unread: Boolean) { myNotifications(unreadOnly: $unread) {
  id title body deepLink createdAt readAt } }"""


async def segment(api: Api, name: str, **rules: Any) -> dict[str, Any]:
    data = await api.admin(CREATE_SEGMENT, {"input": {"name": name, "rules": rules}})
    payload = data["createSegment"]
    assert payload["errors"] == [], payload
    return payload["segment"]  # type: ignore[no-any-return]


async def campaign(api: Api, **fields: Any) -> dict[str, Any]:
    data = {"title": "Flash sale", "body": "Double points today"} | fields
    payload = (await api.admin(CREATE_CAMPAIGN, {"input": data}))["createNotificationCampaign"]
    assert payload["errors"] == [], payload
    await background.drain()
    return payload["campaign"]  # type: ignore[no-any-return]


async def campaign_status(api: Api, campaign_id: str) -> dict[str, Any]:
    found = [c for c in (await api.admin(CAMPAIGNS))["campaigns"] if c["id"] == campaign_id]
    return found[0]  # type: ignore[no-any-return]


# -- one member's whole relationship, built through the API: every kind of care event once

# 10:00 in Ho Chi Minh City on Friday 20/11/2026.
STORY_T0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
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
    clock.freeze(STORY_T0)
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
