"""Webhooks: a CRM receives signed business events through the outbox, at least once, each
with an event id, retried with backoff when it fails or times out (a real HTTP receiver)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from core import clock, outbox
from engage import background, erasure, nps, webhooks
from engage.models import Webhook, WebhookDelivery
from rewards import enrolment
from rewards.ledger import spending
from rewards.vouchers import service as vouchers
from tests.conftest import INTEGRATION_KEY, Api
from tests.engage import factories as f
from tests.engage.receivers import HttpReceiver, http_receiver
from tests.game import factories as game
from tests.rewards import factories as rewards

CREATE = """mutation($url: String!, $events: [String!]!) {
  createWebhook(url: $url, events: $events) {
  webhook { id url events active createdAt } secret errors { code message field } } }"""
DELIVERIES = """query($id: ID!) { webhookDeliveries(webhookId: $id) {
  id event eventId status attempts lastStatusCode lastError nextAttemptAt deliveredAt } }"""


async def create(api: Api, url: str, events: list[str]) -> dict[str, Any]:
    return (await api.admin(CREATE, {"url": url, "events": events}))["createWebhook"]  # type: ignore[no-any-return]


def verified(receiver: HttpReceiver, secret: str) -> list[dict[str, Any]]:
    """Every body the receiver got, after checking its signature as a CRM would."""
    bodies = []
    for r in receiver.requests:
        expected = "sha256=" + hmac.new(secret.encode(), r.raw, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(r.headers["x-loyalty-signature"], expected)
        body = json.loads(r.raw)
        assert r.headers["x-loyalty-event-id"] == body["id"]
        assert r.headers["x-loyalty-event"] == body["type"]
        bodies.append(body)
    return bodies


async def test_a_crm_receives_signed_order_events_retried_when_it_fails(api: Api) -> None:
    clock.freeze(f.NOON_LOCAL)
    # given a CRM that fails the first two attempts
    async with http_receiver([500, 503]) as crm:
        made = await create(api, crm.url, ["order.recorded", "order.refunded"])
        assert made["errors"] == [] and made["secret"].startswith("whsec_")
        secret, hook_id = made["secret"], made["webhook"]["id"]
        assert made["webhook"]["events"] == ["order.recorded", "order.refunded"]
        # when an order is recorded through the API
        m = await f.member(external_id="crm-1")
        recorded = await api.integration(
            """mutation { recordOrder(input: {orderId: "HD-1", memberExternalId: "crm-1",
               amount: "345000"}) { errors { code } } }"""
        )
        assert recorded["recordOrder"]["errors"] == []
        await background.drain()
        # then the first attempt failed: kept, due again after a minute
        (first,) = (await api.admin(DELIVERIES, {"id": hook_id}))["webhookDeliveries"]
        assert (first["status"], first["attempts"], first["lastStatusCode"]) == ("PENDING", 1, 500)
        assert first["nextAttemptAt"].startswith("2026-06-10T03:01:00")
        assert await webhooks.flush() == 0  # not before its time
        clock.advance(timedelta(minutes=1))
        assert await webhooks.flush() == 0  # 503
        clock.advance(timedelta(minutes=2))
        assert await webhooks.flush() == 1
    # and the CRM got the same signed body three times, with one event id to de-duplicate
    bodies = verified(crm, secret)
    assert len(bodies) == 3 and len({json.dumps(b) for b in bodies}) == 1
    body = bodies[0]
    assert body["type"] == "order.recorded" and body["id"].startswith("evt_")
    assert body["data"] == {
        "memberExternalId": "crm-1",
        "orderId": "HD-1",
        "amount": "345000.00",
        "channel": None,
        "occurredAt": f.NOON_LOCAL.isoformat(),
    }
    (done,) = (await api.admin(DELIVERIES, {"id": hook_id}))["webhookDeliveries"]
    assert (done["status"], done["attempts"], done["lastStatusCode"]) == ("DELIVERED", 3, 200)
    assert done["eventId"] == body["id"] and done["nextAttemptAt"] is None
    assert m.id


async def test_a_receiver_that_times_out_is_retried_and_given_up_after_max_attempts(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a webhook for member.enrolled whose receiver never answers (a 0.2 s timeout)
    monkeypatch.setattr(webhooks, "TIMEOUT", 0.2)
    clock.freeze(f.NOON_LOCAL)
    async with http_receiver(default="hang") as slow:
        hook = (await create(api, slow.url, ["member.enrolled"]))["webhook"]
        # when a member enrols, and each retry comes due
        await enrolment.enroll(_enrolment("slow-1"))
        await background.drain()
        for _ in range(webhooks.MAX_ATTEMPTS):
            row = await WebhookDelivery.get(webhook_id=int(hook["id"]))
            if row.due_at is None:
                break
            clock.freeze(max(row.due_at, clock.now()))
            await webhooks.flush()
    # then the delivery was tried the most times allowed, timing out, and FAILED
    row = await WebhookDelivery.get(webhook_id=int(hook["id"]))
    assert (row.status, row.attempts) == ("FAILED", webhooks.MAX_ATTEMPTS)
    assert row.last_status_code is None and "Timeout" in (row.last_error or "")
    assert len(slow.requests) == webhooks.MAX_ATTEMPTS


def _enrolment(external_id: str) -> Any:
    from members.service import Enrolment

    return Enrolment(external_id=external_id, display_name="Lan", phone="0901234567")


async def test_an_outbox_row_applied_twice_delivers_each_event_once(api: Api) -> None:
    # given a webhook for member.enrolled
    clock.freeze(f.NOON_LOCAL)
    async with http_receiver() as crm:
        await create(api, crm.url, ["member.enrolled"])
        # when the relay fails after commit (the row stays), and the sweeper applies it
        # later, twice (two processes)
        real = webhooks.record
        calls = 0

        async def flaky(event: webhooks.WebhookEvent) -> None:
            nonlocal calls
            calls += 1
            await real(event)
            if calls == 1:
                raise ConnectionError("process died after writing")

        from core import events

        events.off(webhooks.WebhookEvent, webhooks.record)
        events.on(webhooks.WebhookEvent, flaky)
        try:
            await enrolment.enroll(_enrolment("twice-1"))
            clock.advance(outbox.CLAIM + timedelta(seconds=1))
            await outbox.sweep()
            clock.advance(outbox.CLAIM + timedelta(seconds=1))
            await outbox.sweep()
        finally:
            events.off(webhooks.WebhookEvent, flaky)
            events.on(webhooks.WebhookEvent, webhooks.record)
        await background.drain()
        await webhooks.flush()
    # then the event was recorded again, but delivered once
    assert calls >= 2
    assert await WebhookDelivery.all().count() == 1
    assert len(crm.requests) == 1


async def test_every_business_event_leaves_through_its_webhook(api: Api) -> None:
    # given tiers, a mission, an action type, an offer, and a webhook for every event
    clock.freeze(f.NOON_LOCAL)
    await f.tier("MEMBER", 0)
    await f.tier("GOLD", 300, name="Gold")
    await game.action_type(api, "review.posted", points=10)
    await game.mission(api, title="Một đánh giá", target=1)
    await game.action_type(api, "survey.completed", points=5)
    offer = await rewards.offer(points_cost=10)
    async with http_receiver() as crm:
        made = await create(api, crm.url, list(webhooks.EVENTS))
        # when a member does everything once and is erased
        m = await enrolment.enroll(_enrolment("all-1"))
        placed = await f.order(m, 6_000_000)  # order, points, tier
        await orders_refund(placed.order_id)
        await f.order(m, 1_000_000)  # 50 points to spend
        await spending.redeem_points("all-1", 20, "HD-9", "redeem-1")
        voucher = await vouchers.claim(m.id, offer.id)
        await vouchers.redeem(voucher.code, "HD-10", Decimal(100_000))
        await game.track(api, m)  # mission completed
        await nps.submit(m.id, 9, "Tốt")
        await erasure.erase("all-1", "ADMIN")
        await background.drain()
        await webhooks.flush()
    # then each event left through the webhook, signed, with what it says, each id once
    bodies = verified(crm, made["secret"])
    names = {b["type"] for b in bodies}
    assert names == set(webhooks.EVENTS)
    by = {b["type"]: b["data"] for b in bodies}
    assert by["member.enrolled"]["memberExternalId"] == "all-1"
    assert by["member.enrolled"]["phone"] == "0901234567"
    tiers = [(b["data"]["from"], b["data"]["to"]) for b in bodies if b["type"] == "tier.changed"]
    assert tiers == [
        ("MEMBER", "GOLD"),
        ("GOLD", "MEMBER"),
    ]  # up with the order, down with its refund
    assert by["points.redeemed"] == {
        "memberExternalId": "all-1",
        "points": 20,
        "orderId": "HD-9",
        "discount": "20000.00",
    }
    assert by["voucher.claimed"]["code"] == voucher.code
    assert by["voucher.redeemed"]["orderId"] == "HD-10"
    assert by["order.refunded"]["fullyRefunded"] is True
    assert by["nps.submitted"]["score"] == 9
    assert by["member.erased"]["memberExternalId"] == "all-1"
    assert len({b["id"] for b in bodies}) == len(bodies)


async def orders_refund(order_id: str) -> None:
    from rewards.orders import service as orders

    await orders.refund_order(order_id, f"refund-{order_id}", None)


async def test_only_subscribed_events_are_sent_and_deleting_stops_them(api: Api) -> None:
    # given a webhook for nps.submitted only
    clock.freeze(f.NOON_LOCAL)
    async with http_receiver() as crm:
        made = await create(api, crm.url, ["nps.submitted"])
        # when a member orders and answers NPS
        m = await f.member()
        await f.order(m, 100_000)  # not subscribed
        await nps.submit(m.id, 7, None)
        await background.drain()
        await webhooks.flush()
        # then only the answer is sent
        assert [b["type"] for b in crm.bodies] == ["nps.submitted"]
        # and when the webhook is deleted, another answer is not sent
        gone = (
            await api.admin(
                """mutation($id: ID!) { deleteWebhook(id: $id) { webhook { id active }
                   errors { code } } }""",
                {"id": made["webhook"]["id"]},
            )
        )["deleteWebhook"]
        assert gone == {"webhook": {"id": made["webhook"]["id"], "active": False}, "errors": []}
        other = await f.member()
        await nps.submit(other.id, 8, None)
        await background.drain()
        await webhooks.flush()
        assert len(crm.requests) == 1
    assert (await api.admin("{ webhooks { id } }"))["webhooks"] == []


async def test_the_secret_is_shown_once(api: Api) -> None:
    # given a webhook created
    made = await create(api, "https://crm.example/hooks/loyalty", ["order.recorded"])
    # when an admin lists the webhooks
    listed = await api.admin("{ webhooks { id url events active } }")
    # then it is there without its secret, which no field shows, but it is kept
    assert listed["webhooks"] == [
        {
            "id": made["webhook"]["id"],
            "url": "https://crm.example/hooks/loyalty",
            "events": ["order.recorded"],
            "active": True,
        }
    ]
    body = await api.raw("{ webhooks { secret } }", token="test-admin-key")
    assert body["errors"]  # no such field
    assert (await Webhook.get()).secret == made["secret"]


@pytest.mark.parametrize(
    ("url", "events", "field"),
    [
        ("ftp://crm.example/x", ["order.recorded"], ["url"]),
        ("crm.example/x", ["order.recorded"], ["url"]),
        ("https://user:pw@crm.example/x", ["order.recorded"], ["url"]),
        ("https:///nohost", ["order.recorded"], ["url"]),
        ("https://crm.example/x", [], ["events"]),
        ("https://crm.example/x", ["order.recorded", "order.shipped"], ["events", "1"]),
    ],
)
async def test_bad_webhooks_name_the_field_and_write_nothing(
    api: Api, url: str, events: list[str], field: list[str]
) -> None:
    # given a webhook input wrong in one field
    # when an admin creates it
    made = await create(api, url, events)
    # then it is INVALID_INPUT naming that field, and nothing is written
    assert made["webhook"] is None and made["secret"] is None
    assert [(e["code"], e["field"]) for e in made["errors"]] == [("INVALID_INPUT", field)]
    assert await Webhook.all().count() == 0


async def test_production_refuses_private_targets(api: Api) -> None:
    # given production, which allows no private targets
    webhooks.configure(allow_private=False)
    try:
        # when an admin creates webhooks to a loopback and a private address
        made = await create(api, "http://127.0.0.1:9/x", ["order.recorded"])
        # then each is refused naming the url
        assert made["errors"][0]["field"] == ["url"]
        made = await create(api, "http://10.1.2.3/x", ["order.recorded"])
        assert made["errors"][0]["field"] == ["url"]
    finally:
        webhooks.configure(allow_private=True)


async def test_webhooks_are_for_admins(api: Api) -> None:
    # given the integration key
    # when it lists the webhooks
    body = await api.raw("{ webhooks { id } }", token=INTEGRATION_KEY)
    # then it is FORBIDDEN
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # and an admin asking for an unknown webhook's deliveries gets NOT_FOUND
    missing = await api.raw(
        "query { webhookDeliveries(webhookId: 99) { id } }", token="test-admin-key"
    )
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
