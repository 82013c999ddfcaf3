"""Channels through real local receivers: SMS and Zalo through the HTTP provider adapter
(an HTTP server on a free port), email through SMTP (aiosmtpd); consent, addresses,
erasure, retries and refusals, and the configuration that picks each sender."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from core import clock
from core.settings import ConfigError, Settings
from engage import background, channel_settings, deliveries, erasure, senders, templates
from engage.channel_settings import ChannelSettings
from engage.models import MessageDelivery, Notification, NotificationKind
from engage.notifications import Draft, notify
from members import consents
from members.consents import Channel
from members.models import Member
from tests.engage import factories as f
from tests.engage.receivers import http_receiver, smtp_receiver

# An SMS brandname gateway in the style of Vietnamese providers: credentials and the
# brandname in the JSON body, CodeResult "100" on success.
ESMS_BODY = (
    '{"ApiKey": "{apiKey}", "SecretKey": "{secretKey}", "Brandname": "{sender}",'
    ' "SmsType": "2", "Phone": "{phone}", "Content": "{body}", "RequestId": "{deliveryId}"}'
)
# Zalo ZNS: a pre-approved template by id, its parameters, the OA token in a header.
ZNS_BODY = (
    '{"phone": "{phoneIntl}", "template_id": "{providerTemplateId}",'
    ' "template_data": {"customer_name": "{displayName}", "tier": "{tierName}"},'
    ' "tracking_id": "{deliveryId}"}'
)


@pytest_asyncio.fixture(autouse=True)
async def logging_channels(settings: Settings) -> AsyncIterator[None]:
    yield
    channel_settings.configure(settings, ChannelSettings.model_construct())


def configure(settings: Settings, **values: Any) -> None:
    channel_settings.configure(settings, ChannelSettings.model_construct(**values))


async def sms_member(**fields: Any) -> Member:
    m = await f.member(phone=fields.pop("phone", "0901234567"), **fields)
    await consents.set_consents(m.id, [(Channel.SMS, True), (Channel.ZALO, True)], "MEMBER")
    return m


async def tier_up_template(channel: Channel, body: str, title: str | None = None) -> None:
    await templates.upsert(templates.TemplateInput("tier.up", channel, title, body))


async def tier_up(m: Member) -> None:
    await notify(
        Draft(
            m.id,
            NotificationKind.TIER_UP,
            f"tier:GOLD:{m.id}",
            template="tier.up",
            values={"tierName": "Vàng"},
        )
    )
    await background.drain()


async def test_sms_goes_through_the_provider_as_its_settings_describe(settings: Settings) -> None:
    # given an SMS tier-up template, a Vietnamese-style SMS gateway and a member who takes SMS
    clock.freeze(f.NOON_LOCAL)
    await tier_up_template(Channel.SMS, "{displayName} oi, ban da len hang {tierName}.")
    async with http_receiver(default=(200, {"CodeResult": "100"})) as provider:
        configure(
            settings,
            sms_url=provider.url,
            sms_body=ESMS_BODY,
            sms_success='{"CodeResult": "100"}',
            sms_api_key="key-123",
            sms_secret_key="secret-456",
            sms_sender="SHOPVN",
        )
        m = await sms_member(display_name="Lan")
        # when the member reaches a tier and the SMS channel is flushed
        await tier_up(m)
        await deliveries.flush(Channel.SMS)
    # then the gateway got one request as the settings describe it, and the delivery is SENT
    (request,) = provider.requests
    row = await MessageDelivery.get(member_id=m.id, channel="SMS")
    assert request.json == {
        "ApiKey": "key-123",
        "SecretKey": "secret-456",
        "Brandname": "SHOPVN",
        "SmsType": "2",
        "Phone": "0901234567",
        "Content": "Lan oi, ban da len hang Vàng.",
        "RequestId": str(row.id),
    }
    assert (row.status, row.attempts, row.sent_at, row.template_key) == (
        "SENT",
        1,
        f.NOON_LOCAL,
        "tier.up",
    )


async def test_zalo_zns_is_configuration_too(settings: Settings) -> None:
    # given a Zalo tier-up template, Zalo ZNS settings and a member who takes Zalo
    clock.freeze(f.NOON_LOCAL)
    await tier_up_template(Channel.ZALO, "{displayName}: hạng {tierName}")
    async with http_receiver(default=(200, {"error": 0, "message": "Success"})) as zalo:
        configure(
            settings,
            zalo_url=zalo.url,
            zalo_body=ZNS_BODY,
            zalo_headers='{"access_token": "{accessToken}"}',
            zalo_success='{"error": 0}',
            zalo_access_token="oa-token",
            zalo_template_ids='{"tier.up": "231456"}',
        )
        m = await sms_member(display_name="Bình")
        # when the member reaches a tier and the Zalo channel is flushed
        await tier_up(m)
        await deliveries.flush(Channel.ZALO)
    # then ZNS got the pre-approved template by id, its parameters and the OA token
    (request,) = zalo.requests
    assert request.headers["access_token"] == "oa-token"
    assert request.json["phone"] == "84901234567"
    assert request.json["template_id"] == "231456"
    assert request.json["template_data"] == {"customer_name": "Bình", "tier": "Vàng"}


async def test_provider_errors_are_retried_with_backoff_and_refusals_are_final(
    settings: Settings,
) -> None:
    # given an SMS tier-up template and three members who take SMS
    clock.freeze(f.NOON_LOCAL)
    await tier_up_template(Channel.SMS, "Len hang {tierName}")
    # and a provider that fails twice (retried inside the call), then refuses one number for good
    answers = [503, 503, (200, {"CodeResult": "100"}), (200, {"CodeResult": "99"})]
    async with http_receiver(answers, default=503) as provider:
        configure(
            settings,
            sms_url=provider.url,
            sms_body=ESMS_BODY,
            sms_success='{"CodeResult": "100"}',
            sms_concurrency=1,
            sms_attempts=3,
            sms_backoff_seconds=0.01,
        )
        sent, refused, unlucky = (await sms_member(), await sms_member(), await sms_member())
        # when each reaches a tier and the SMS channel is flushed
        for m in (sent, refused, unlucky):
            await tier_up(m)
        await deliveries.flush(Channel.SMS)
    # then the first is SENT, the refused one FAILED for good
    rows = {r.member_id: r for r in await MessageDelivery.filter(channel="SMS")}
    assert rows[sent.id].status == "SENT"
    assert rows[refused.id].status == "FAILED"
    assert rows[refused.id].last_error.startswith('refused: {"CodeResult": "99"}')
    # and the last one met only 503s: kept, due again after the first backoff
    late = rows[unlucky.id]
    assert (late.status, late.attempts, late.last_error) == ("PENDING", 1, "HTTP 503")
    assert late.due_at == f.NOON_LOCAL + deliveries.RETRY_BASE


async def test_email_goes_over_smtp_in_vietnamese(settings: Settings) -> None:
    # given an email tier-up template, an SMTP server, and three members who take email:
    clock.freeze(f.NOON_LOCAL)
    await tier_up_template(
        Channel.EMAIL, "Chào {displayName}, bạn đã lên hạng {tierName}.", "Hạng {tierName}"
    )
    async with smtp_receiver() as box:
        configure(
            settings,
            smtp_host="127.0.0.1",
            smtp_port=box.port,
            smtp_starttls=False,
            smtp_from="Cửa hàng <cskh@shop.example>",
        )
        # one with an address, one whose address the server refuses, one without any
        ok = await f.member(display_name="Trần Mai", email="mai@example.com")
        refused = await f.member(email="gone@example.com")
        nobody = await f.member()
        box.refuse.add("gone@example.com")
        # when each reaches a tier and the email channel is flushed
        for m in (ok, refused, nobody):
            await consents.set_consents(m.id, [(Channel.EMAIL, True)], "MEMBER")
            await tier_up(m)
        await deliveries.flush(Channel.EMAIL)
    # then one mail went, in Vietnamese, and the others FAILED with the reason
    (mail,) = box.mails
    assert mail["Subject"] == "Hạng Vàng" and mail["To"] == "mai@example.com"
    assert mail.get_payload(decode=True).decode().strip() == "Chào Trần Mai, bạn đã lên hạng Vàng."
    rows = {r.member_id: r for r in await MessageDelivery.filter(channel="EMAIL")}
    assert rows[ok.id].status == "SENT"
    assert rows[refused.id].status == "FAILED" and "refused" in rows[refused.id].last_error
    assert (rows[nobody.id].status, rows[nobody.id].last_error) == ("FAILED", "no email")


async def test_only_consenting_living_members_get_a_channel(settings: Settings) -> None:
    # given an SMS tier-up template, a member who takes SMS, one who did not answer, and one erased
    clock.freeze(f.NOON_LOCAL)
    await tier_up_template(Channel.SMS, "Len hang {tierName}")
    agreed = await sms_member()
    silent = await f.member(phone="0907654321")  # SMS is refused until granted
    erased = await sms_member(phone="0911111111")
    await erasure.erase(erased.external_id, "ADMIN")
    # when each reaches a tier
    for m in (agreed, silent, erased):
        await tier_up(m)
    # then only the consenting living member gets an SMS
    rows = await MessageDelivery.filter(channel="SMS").values_list("member_id", flat=True)
    assert rows == [agreed.id]
    # and every living member has the inbox entry and its push; the erased member nothing (the
    # welcome written at their enrolment stays, its words wiped)
    assert await Notification.filter(member_id=erased.id, kind="TIER_UP").count() == 0
    pushed = MessageDelivery.filter(member_id=silent.id, channel="PUSH", template_key="tier.up")
    assert await pushed.count() == 1


async def test_erasing_a_member_cancels_what_is_still_owed(settings: Settings) -> None:
    # given 22:00 local, held for the night, and a member who takes SMS reaching a tier
    clock.freeze(f.at(2026, 6, 10, 15))  # 22:00: held for the night
    await tier_up_template(Channel.SMS, "Len hang {tierName}")
    m = await sms_member()
    await tier_up(m)
    # and so the welcome's push and the tier up's SMS and push are all held
    assert await MessageDelivery.filter(member_id=m.id, status="PENDING").count() == 3
    # when the member is erased
    await erasure.erase(m.external_id, "ADMIN")
    # then everything still owed to them is cancelled
    statuses = await MessageDelivery.filter(member_id=m.id).values_list("status", flat=True)
    assert set(statuses) == {"CANCELLED"}


async def test_tracked_links_count_opens_and_lead_on(
    settings: Settings, http: httpx.AsyncClient
) -> None:
    # given an SMS template with a tracked link, and a member who takes SMS
    clock.freeze(f.NOON_LOCAL)
    await tier_up_template(Channel.SMS, "Xem uu dai: {link}")
    async with http_receiver() as provider:
        configure(
            settings,
            sms_url=provider.url,
            public_url="https://loyalty.shop.example",
            link_target_url="https://shop.example/app/{deepLink}",
        )
        m = await sms_member()
        # when the member reaches a tier and the SMS goes
        await notify(
            Draft(
                m.id,
                NotificationKind.TIER_UP,
                "tier:x",
                template="tier.up",
                deep_link="tier",
            )
        )
        await background.drain()
        await deliveries.flush(Channel.SMS)
    # then the text carries a tracked link of this server
    text = provider.bodies[0]["text"]
    assert text.startswith("Xem uu dai: https://loyalty.shop.example/l/")
    path = text.removeprefix("Xem uu dai: https://loyalty.shop.example")
    # when the member follows it, the open is kept and they land on the target
    followed = await http.get(path)
    assert followed.status_code == 302
    assert followed.headers["location"] == "https://shop.example/app/tier"
    row = await MessageDelivery.get(member_id=m.id, channel="SMS")
    assert row.opened_at == f.NOON_LOCAL
    # and a token not made here is not found, and touches nothing
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert (await http.get(forged)).status_code == 404


async def test_without_configuration_every_channel_logs(settings: Settings) -> None:
    # given no channel configuration
    channel_settings.configure(settings, ChannelSettings.model_construct())
    # when each channel's sender is asked for
    for channel in Channel:
        # then it logs
        assert isinstance(senders.sender(channel), senders.LogSender)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"sms_url": "ftp://x"}, "LOYALTY_SMS_URL"),
        ({"sms_url": "http://x", "sms_body": "{not json"}, "LOYALTY_SMS_BODY"),
        ({"zalo_url": "http://x", "zalo_body": '{"a": "{nope}"}'}, "LOYALTY_ZALO_BODY"),
        ({"zalo_url": "http://x", "zalo_headers": '["x"]'}, "LOYALTY_ZALO_HEADERS"),
    ],
)
def test_a_bad_provider_setting_is_one_line_naming_it(
    settings: Settings, values: dict[str, Any], named: str
) -> None:
    # given one bad provider setting (and a secret beside it)
    # when the channels are configured
    with pytest.raises(ConfigError) as refused:
        configure(settings, sms_api_key="very-secret", **values)
    # then one line names the setting, never the secret
    assert str(refused.value).startswith(named) and "\n" not in str(refused.value)
    assert "very-secret" not in str(refused.value)


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # given the channel settings in the environment, one of them bad
    monkeypatch.setenv("LOYALTY_SMS_URL", "https://sms.example/send")
    monkeypatch.setenv("LOYALTY_SMS_CONCURRENCY", "0")
    channel_settings.from_env.cache_clear()
    try:
        # when they are read
        with pytest.raises(ConfigError) as refused:
            channel_settings.from_env()
        # then the bad one is named
        assert str(refused.value).startswith("LOYALTY_SMS_CONCURRENCY=")
        # and when it is mended, they are read from the environment
        monkeypatch.setenv("LOYALTY_SMS_CONCURRENCY", "5")
        channel_settings.from_env.cache_clear()
        loaded = channel_settings.from_env()
        assert (loaded.sms_url, loaded.sms_concurrency) == ("https://sms.example/send", 5)
    finally:
        channel_settings.from_env.cache_clear()
