"""Builders for engage tests: members, orders, tiers, segments, campaigns (through the domain)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from core import clock
from engage import background
from members.models import Member
from members.program import ProgramChanges, update_program
from rewards.orders import service as orders
from rewards.tiers import service as tiers
from tests import factories
from tests.conftest import Api

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
