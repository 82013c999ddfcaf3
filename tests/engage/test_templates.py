"""Message templates through the API: built-in Vietnamese texts, admin overrides that the
next message uses, placeholders checked, admin only."""

from __future__ import annotations

from typing import Any

from core import clock
from core.settings import Settings
from engage.models import MessageDelivery, MessageTemplate
from members import consents
from members.consents import Channel
from tests.conftest import INTEGRATION_KEY, Api
from tests.engage import factories as f
from tests.factories import token_for
from tests.game import factories as game

TEMPLATES = "{ messageTemplates { key channel title body builtIn } }"
UPSERT = """mutation($input: MessageTemplateInput!) { upsertMessageTemplate(input: $input) {
  template { key channel title body builtIn } errors { code message field } } }"""


async def upsert(api: Api, **fields: Any) -> dict[str, Any]:
    data = await api.admin(UPSERT, {"input": fields})
    return data["upsertMessageTemplate"]  # type: ignore[no-any-return]


async def test_every_transactional_message_has_a_vietnamese_default(api: Api) -> None:
    # given no template of an admin's
    # when an admin lists the templates
    found = (await api.admin(TEMPLATES))["messageTemplates"]
    # then every transactional key has a built-in Vietnamese push text
    assert [(t["key"], t["channel"], t["builtIn"]) for t in found] == [
        (key, "PUSH", True)
        for key in sorted(
            [
                "birthday",
                "mission.completed",
                "points.expiring",
                "tier.at_risk",
                "tier.up",
                "voucher.expiring",
                "welcome",
            ]
        )
    ]
    birthday = next(t for t in found if t["key"] == "birthday")
    assert birthday["title"] == "Chúc mừng sinh nhật {displayName}!"


async def test_an_override_writes_the_next_message(api: Api, settings: Settings) -> None:
    # given an admin's own words for tier.up on PUSH and on SMS
    done = await upsert(
        api,
        key="tier.up",
        channel="PUSH",
        title="{displayName} lên hạng {tierName}!",
        body="Số dư của bạn: {pointsBalance}.",
    )
    assert done == {
        "template": {
            "key": "tier.up",
            "channel": "PUSH",
            "title": "{displayName} lên hạng {tierName}!",
            "body": "Số dư của bạn: {pointsBalance}.",
            "builtIn": False,
        },
        "errors": [],
    }
    await upsert(api, key="tier.up", channel="SMS", body="{displayName}: hang {tierName}")
    listed = (await api.admin(TEMPLATES))["messageTemplates"]
    assert [(t["channel"], t["builtIn"]) for t in listed if t["key"] == "tier.up"] == [
        ("PUSH", False),
        ("SMS", False),
    ]
    # when a member who takes SMS reaches Gold with 1.250 points to spend
    clock.freeze(f.NOON_LOCAL)
    await f.tier("MEMBER", 0)
    await f.tier("GOLD", 300, name="Gold")
    m = await f.member(display_name="Lan", phone="0901234567")
    await consents.set_consents(m.id, [(Channel.SMS, True)], "MEMBER")
    await f.order(m, 25_000_000)
    # then the inbox and the push say it in the admin's words, amounts the Vietnamese way
    inbox = (await api(f.INBOX, token=token_for(m, settings)))["myNotifications"]
    tier_up, welcome = inbox
    assert (tier_up["title"], tier_up["body"]) == (
        "Lan lên hạng Gold!",
        "Số dư của bạn: 1.250 điểm.",
    )
    assert welcome["title"] == f.welcome(m)
    sms = await MessageDelivery.get(member_id=m.id, channel="SMS")
    assert sms.body == "Lan: hang Gold"
    # and upserting again replaces the text (one row per key and channel)
    await upsert(api, key="tier.up", channel="SMS", body="Hang moi: {tierName}")
    assert await MessageTemplate.filter(key="tier.up").count() == 2


async def test_bad_templates_name_the_field_and_write_nothing(api: Api) -> None:
    # given template inputs each wrong in one field
    cases = [
        ({"key": "tier.up", "channel": "PUSH", "body": "Hi {firstName}"}, ["input", "body"]),
        (
            {"key": "tier.up", "channel": "PUSH", "title": "{orderTotal}", "body": "x"},
            ["input", "title"],
        ),
        ({"key": "Tier Up!", "channel": "PUSH", "body": "x"}, ["input", "key"]),
        ({"key": "sale", "channel": "EMAIL", "body": "x"}, ["input", "title"]),
        ({"key": "sale", "channel": "SMS", "body": "  "}, ["input", "body"]),
        ({"key": "sale", "channel": "SMS", "body": "x" * 1001}, ["input", "body"]),
    ]
    # when an admin upserts each
    for given, field in cases:
        done = await upsert(api, **given)
        # then each is INVALID_INPUT naming that field, and nothing is written
        assert done["template"] is None, given
        assert [(e["code"], e["field"]) for e in done["errors"]] == [("INVALID_INPUT", field)]
    # and an unknown placeholder's refusal names the ones there are
    unknown = (await upsert(api, key="x", channel="SMS", body="{firstName}"))["errors"][0]
    assert "{firstName}" in unknown["message"] and "{displayName}" in unknown["message"]
    assert await MessageTemplate.all().count() == 0


async def test_templates_are_for_admins(api: Api) -> None:
    # given the integration key
    # when it lists or upserts templates
    body = await api.raw(TEMPLATES, token=INTEGRATION_KEY)
    # then each is FORBIDDEN, and nothing is written
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await api.raw(
        UPSERT, {"input": {"key": "k", "channel": "SMS", "body": "b"}}, token=INTEGRATION_KEY
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await MessageTemplate.all().count() == 0


async def test_a_mission_message_quotes_what_the_action_left(api: Api, settings: Settings) -> None:
    # given an admin's words for mission.completed quoting the member's name, balance and
    # tier, and a member in Gold with 100 points to spend
    await upsert(
        api,
        key="mission.completed",
        channel="PUSH",
        title="{displayName}: {missionName}",
        body="{pointsBalance}, {tierName}",
    )
    clock.freeze(f.NOON_LOCAL)
    await f.tier("MEMBER", 0)
    await f.tier("GOLD", 50, name="Gold")
    m = await f.member(display_name="Lan", phone="0901234567")
    await f.order(m, 2_000_000)
    assert (await game.me(api, m, settings))["pointsBalance"] == 100
    # when an action paying 3 points completes a mission paying 5 more
    await game.action_type(api, "checkin", points=3)
    await game.mission(
        api, title="Đến cửa hàng", actionType="checkin", target=1, reward={"points": 5}
    )
    done = await game.track(api, m, "checkin")
    assert done["pointsAwarded"] == 3
    # then its message has the member's name and the balance and tier after both credits
    inbox = (await api(f.INBOX, token=token_for(m, settings)))["myNotifications"]
    assert (inbox[0]["title"], inbox[0]["body"]) == ("Lan: Đến cửa hàng", "108 điểm, Gold")
