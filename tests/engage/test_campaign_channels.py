"""Campaigns on a channel, from a template, to those who consented, outside two quiet
windows, and what they brought back: opened, converted, revenue (through the API, with a
real SMS provider on a local port)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest_asyncio

from core import clock
from core.settings import Settings
from engage import background, campaigns, channel_settings, deliveries, erasure
from engage.channel_settings import ChannelSettings
from engage.models import MessageDelivery, NotificationCampaign
from members import consents
from members.consents import Channel
from members.models import Member
from rewards.orders import service as orders
from tests.conftest import Api
from tests.engage import factories as f
from tests.engage.receivers import http_receiver
from tests.factories import token_for
from tests.statements import counting

LUNCH = f.at(2026, 6, 10, 5, 0)  # 12:00 in Ho Chi Minh City
AFTER_LUNCH = f.at(2026, 6, 10, 6, 30)  # 13:30
STATS = """{ campaigns { id status channel templateKey conversionWindowDays
  stats { targeted delivered suppressedByCap suppressedByConsent deferredByQuietHours
          opened converted revenue sent failed } } }"""
PROGRAM = """mutation($i: ProgramInput!) { updateProgram(input: $i) { errors { code } } }"""
TEMPLATE = """mutation($i: MessageTemplateInput!) { upsertMessageTemplate(input: $i) {
  errors { code } } }"""
MARK = "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) { unreadCount } }"


@pytest_asyncio.fixture(autouse=True)
async def logging_channels(settings: Settings) -> AsyncIterator[None]:
    yield
    channel_settings.configure(settings, ChannelSettings.model_construct())


async def sms_member(name: str, phone: str, agree: bool = True) -> Member:
    m = await f.member(display_name=name, phone=phone)
    if agree:
        await consents.set_consents(m.id, [(Channel.SMS, True)], "MEMBER")
    return m


async def stats_of(api: Api, campaign_id: str) -> dict[str, Any]:
    found = [c for c in (await api.admin(STATS))["campaigns"] if c["id"] == campaign_id]
    return found[0]  # type: ignore[no-any-return]


async def test_an_sms_campaign_from_a_template_reports_what_it_brought_back(
    api: Api, settings: Settings, http: httpx.AsyncClient
) -> None:
    # given lunch and night quiet windows, and an admin's Vietnamese SMS template
    lunch_and_night = [{"start": "11:30", "end": "13:30"}, {"start": "21:00", "end": "08:00"}]
    await api.admin(PROGRAM, {"i": {"quietWindows": lunch_and_night}})
    done = await api.admin(
        TEMPLATE,
        {
            "i": {
                "key": "flash-sale",
                "channel": "SMS",
                "body": "{displayName} oi, giam 20%: {link}",
            }
        },
    )
    assert done["upsertMessageTemplate"]["errors"] == []
    async with http_receiver() as provider:
        channel_settings.configure(
            settings,
            ChannelSettings.model_construct(
                sms_url=provider.url, public_url="https://loyalty.shop.example"
            ),
        )
        # and two members who take SMS, one who does not, one erased
        clock.freeze(LUNCH - timedelta(days=3))
        lan = await sms_member("Lan", "0901000001")
        minh = await sms_member("Minh", "0901000002")
        silent = await sms_member("Hoa", "0901000003", agree=False)
        gone = await sms_member("Gone", "0901000004")
        await erasure.erase(gone.external_id, "ADMIN")
        await f.order(lan, 999_000)  # before the campaign: not a conversion
        # when an admin sends the template by SMS at lunch
        clock.freeze(LUNCH)
        created = await f.campaign(
            api, title=None, body=None, channel="SMS", templateKey="flash-sale"
        )
        # then it waits for the lunch window to end; nobody has it yet
        held = await stats_of(api, created["id"])
        assert held["status"] == "SCHEDULED" and held["stats"]["deferredByQuietHours"] == 3
        assert provider.requests == []
        clock.freeze(AFTER_LUNCH)
        await campaigns.deliver_due()
        await background.drain()
        await deliveries.flush(Channel.SMS)
    # and at 13:30 the members who consented get it by name, the others nothing
    texts = sorted(b["text"] for b in provider.bodies)
    assert [t.split(":")[0] for t in texts] == ["Lan oi, giam 20%", "Minh oi, giam 20%"]
    assert {b["to"] for b in provider.bodies} == {"0901000001", "0901000002"}
    # when Lan follows the link and Minh reads it in the app
    lan_text = next(t for t in texts if t.startswith("Lan"))
    followed = await http.get(lan_text.split("https://loyalty.shop.example")[1])
    assert followed.status_code == 200
    minh_token = token_for(minh, settings)
    note, welcome = (await api(f.INBOX, token=minh_token))["myNotifications"]
    assert welcome["title"] == f.welcome(minh)
    await api(MARK, {"ids": [note["id"]]}, token=minh_token)
    # and Lan orders twice within the week (refunding part of one), Minh orders and refunds
    # it all, and orders again after the window
    clock.advance(timedelta(days=2))
    await f.order(lan, 345_000)
    second = await f.order(lan, 200_000)
    await orders.refund_order(second.order_id, "r-1", Decimal(50_000))
    refunded = await f.order(minh, 500_000)
    await orders.refund_order(refunded.order_id, "r-2", None)
    await f.order(silent, 700_000)  # not a recipient
    clock.advance(timedelta(days=6))
    await f.order(minh, 1_000_000)  # 8 days after: outside the 7-day window
    # then the campaign reports it
    found = await stats_of(api, created["id"])
    assert (found["status"], found["channel"], found["templateKey"]) == (
        "SENT",
        "SMS",
        "flash-sale",
    )
    assert found["conversionWindowDays"] == 7
    assert found["stats"] == {
        "targeted": 3,
        "delivered": 2,
        "suppressedByCap": 0,
        "suppressedByConsent": 1,
        "deferredByQuietHours": 3,
        "opened": 2,
        "converted": 1,
        "revenue": "495000.00",
        "sent": 2,
        "failed": 0,
    }


async def test_the_weekly_cap_counts_every_channel(api: Api) -> None:
    # given a cap of one campaign a week, and a member who takes SMS
    clock.freeze(f.NOON_LOCAL)
    await f.program(max_notifications_per_week=1)
    m = await sms_member("Lan", "0901000001")
    # when an SMS campaign goes, then a push campaign
    await f.campaign(api, title="SMS", body="Giam gia", channel="SMS")
    second = await f.campaign(api, title="Push", body="Giam gia")
    # then the push one is suppressed by the cap: the SMS one counted
    stats = (await stats_of(api, second["id"]))["stats"]
    assert (stats["delivered"], stats["suppressedByCap"]) == (0, 1)
    sent = MessageDelivery.filter(member_id=m.id, campaign_id__isnull=False)
    assert await sent.values_list("channel", flat=True) == ["SMS"]


async def test_campaign_results_cost_one_statement_whatever_the_number_of_campaigns(
    api: Api,
) -> None:
    # given three members and one campaign
    clock.freeze(f.NOON_LOCAL)
    for n in range(3):
        await f.member(display_name=f"M{n}")

    async def statements() -> int:
        await background.drain()
        with counting() as found:
            await api.admin(STATS)
        return found.count

    await f.campaign(api, title="One", body="x")
    # when the results are read with one campaign, and again with six
    one = await statements()
    for n in range(5):
        await f.campaign(api, title=f"More {n}", body="x")
    # then both reads cost the same statements
    assert 0 < one == await statements()


async def test_bad_campaign_channel_input_names_the_field(api: Api) -> None:
    # given campaign inputs each wrong in one field
    cases = [
        ({"templateKey": "missing", "channel": "SMS"}, "NOT_FOUND", ["input", "templateKey"]),
        ({"body": "x"}, "INVALID_INPUT", ["input", "title"]),
        ({"title": "t"}, "INVALID_INPUT", ["input", "body"]),
        ({"title": "t", "body": "Hi {firstName}"}, "INVALID_INPUT", ["input", "body"]),
        (
            {"title": "t", "body": "b", "conversionWindowDays": 0},
            "INVALID_INPUT",
            ["input", "conversionWindowDays"],
        ),
    ]
    # when an admin creates each
    for given, code, field in cases:
        payload = (await api.admin(f.CREATE_CAMPAIGN, {"input": given}))[
            "createNotificationCampaign"
        ]
        # then each is refused naming that field, and none is created
        assert payload["campaign"] is None, given
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)], given
    assert await NotificationCampaign.all().count() == 0
