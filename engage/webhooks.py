"""Webhooks: business events to a CRM or warehouse, signed, at least once, retried.

An admin registers a URL for some EVENTS (`create`); its secret is made here and shown
once. It is stored as made (it must be readable to sign) and never returned again.
Webhooks are definitions: every process knows them from its snapshot, so a write whose
event nobody subscribed to costs nothing.

How an event leaves, through the transactional outbox (core/outbox.py):
1. At the end of the unit of work that raised a domain event (OrderCompleted,
   PointsChanged, TierChanged ...), `on_event` (a before-commit reaction) turns it into a
   WebhookEvent, with a fresh event id and the JSON body every receiver will get, if an
   active webhook subscribed to its name. The WebhookEvent is stored in the unit's outbox
   row, so it survives a crash right after commit.
2. After commit the outbox runs `record`: one webhook_delivery row per subscribed webhook,
   unique per (webhook, event id), so a relay that runs twice writes nothing twice.
3. `flush` (kicked after `record`, and a job) POSTs due deliveries: the stored body, with
   X-Loyalty-Signature: sha256=<HMAC-SHA256 of the body under the webhook's secret> and
   X-Loyalty-Event-Id (the body's "id", for de-duplication). A 2xx is DELIVERED; anything
   else, a timeout or a refused connection comes due again after RETRY_BASE x
   2^(attempts-1) (at most MAX_BACKOFF), and is FAILED after MAX_ATTEMPTS (about a day).
   Each row keeps its attempts, last status code and last error.

Body: {"id": "evt_...", "type": "order.recorded", "createdAt": "...", "data": {...}}, where
data names the member by externalId ("memberExternalId") and carries the event's facts.

In production, a URL that is (or resolves to) a loopback, private or link-local address is
refused, unless LOYALTY_WEBHOOK_ALLOW_PRIVATE says otherwise (development allows them).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx

from core import clock, definitions, events, ids, sql, validation
from core.errors import InvalidInput, NotFound
from core.events import emit, unit_of_work
from engage import background
from engage.erasure import MemberErased
from engage.models import Webhook, WebhookDelivery
from engage.nps import NpsSubmitted
from game.missions.events import MissionCompleted
from rewards.enrolment import MemberEnrolled
from rewards.ledger.events import PointsChanged
from rewards.ledger.spending import PointsRedeemed
from rewards.orders.service import OrderCompleted, OrderRefunded
from rewards.tiers.service import TierChanged
from rewards.vouchers.service import VoucherClaimed, VoucherRedeemed

log = logging.getLogger("loyalty.webhooks")

EVENTS = (
    "member.enrolled",
    "order.recorded",
    "order.refunded",
    "points.credited",
    "points.redeemed",
    "tier.changed",
    "mission.completed",
    "voucher.claimed",
    "voucher.redeemed",
    "nps.submitted",
    "member.erased",
)
SIGNATURE_HEADER = "X-Loyalty-Signature"
BATCH = 100
CONCURRENCY = 10
TIMEOUT = 10.0
CLAIM = timedelta(minutes=2)
RETRY_BASE = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=6)
MAX_ATTEMPTS = 12  # 1 + 2 + 4 ... minutes, then every 6 hours: about a day in all
MAX_WEBHOOKS = 20


class Status:
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class Hook:
    id: int
    url: str
    events: frozenset[str]
    secret: str


@dataclass
class WebhookEvent:
    """A business event bound for the webhooks that subscribed to it (in the outbox row)."""

    event_id: str
    name: str
    body: str  # the JSON every receiver gets, byte for byte on every retry
    at: datetime


_allow_private = True


def configure(allow_private: bool) -> None:
    global _allow_private
    _allow_private = allow_private


# ----------------------------------------------------------------------- admin


async def load_definitions() -> tuple[Hook, ...]:
    """The snapshot's part: the active webhooks."""
    return tuple(
        Hook(w.id, w.url, frozenset(w.events), w.secret)
        for w in await Webhook.filter(active=True).order_by("id")
    )


async def hooks() -> tuple[Hook, ...]:
    return (await definitions.get())["webhooks"]  # type: ignore[no-any-return]


def _private(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(
            ".localhost"
        )
    return not address.is_global


def check_url(url: str, field: str = "url") -> str:
    url = validation.text(url, field, max_len=500)
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port
    except ValueError as exc:
        raise InvalidInput("url is not a valid URL", field) from exc
    if parts.scheme not in ("http", "https"):
        raise InvalidInput("url must start with http:// or https://", field)
    if not host or any(c.isspace() for c in url):
        raise InvalidInput("url must name a host", field)
    if parts.username or parts.password:
        raise InvalidInput(
            "url must not carry credentials (the signature proves the sender)", field
        )
    if not _allow_private and _private(host):
        raise InvalidInput("url must not point at a loopback or private address", field)
    return url


def check_events(names: list[str], field: str = "events") -> list[str]:
    validation.capped_list(names, field, len(EVENTS))
    if not names:
        raise InvalidInput("name at least one event", field)
    wanted = []
    for n, name in enumerate(names):
        if name not in EVENTS:
            raise InvalidInput(
                f"unknown event {name!r}; known: {', '.join(EVENTS)}", f"{field}.{n}"
            )
        if name not in wanted:
            wanted.append(name)
    return wanted


async def create(url: str, names: list[str]) -> tuple[Webhook, str]:
    """Register a webhook; returns it and its secret (shown this once)."""
    url = check_url(url)
    wanted = check_events(names)
    secret = "whsec_" + secrets.token_urlsafe(32)
    async with unit_of_work():
        if await Webhook.filter(active=True).count() >= MAX_WEBHOOKS:
            raise InvalidInput(f"at most {MAX_WEBHOOKS} webhooks", "url")
        hook = await Webhook.create(url=url, events=wanted, secret=secret, created_at=clock.now())
        await definitions.changed()
    return hook, secret


async def delete(webhook_id: int) -> Webhook:
    """Remove a webhook and what it is still owed (its delivery log goes with it)."""
    async with unit_of_work():
        hook = await Webhook.get_or_none(id=webhook_id)
        if hook is None:
            raise NotFound("no webhook with this id", "id")
        await Webhook.filter(id=webhook_id).delete()
        await definitions.changed()
    hook.active = False
    return hook


async def list_webhooks() -> list[Webhook]:
    return await Webhook.all().order_by("id")


async def deliveries_of(webhook_id: int, first: int) -> list[WebhookDelivery]:
    """The webhook's deliveries, newest first."""
    if not 0 <= first <= validation.MAX_LIST:
        raise InvalidInput(f"first must be 0..{validation.MAX_LIST}", "first")
    if not await Webhook.exists(id=webhook_id):
        raise NotFound("no webhook with this id", "webhook_id")
    return await WebhookDelivery.filter(webhook_id=webhook_id).order_by("-id").limit(first)


# ----------------------------------------------------------------------- events


def _money(value: Decimal) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


def describe(event: Any) -> tuple[str, int | None, dict[str, Any]] | None:
    """(name, member id, facts) of a domain event, or None when it is not a business event."""
    if isinstance(event, MemberEnrolled):
        return "member.enrolled", event.member_id, {}
    if isinstance(event, OrderCompleted):
        return (
            "order.recorded",
            event.member_id,
            {
                "orderId": event.order_id,
                "amount": _money(event.amount),
                "channel": event.channel,
                "occurredAt": event.occurred_at.isoformat(),
            },
        )
    if isinstance(event, OrderRefunded):
        return (
            "order.refunded",
            event.member_id,
            {
                "orderId": event.order_id,
                "refundId": event.refund_id,
                "amount": _money(event.amount),
                "refundedTotal": _money(event.refunded_total),
                "pointsReversed": event.points_reversed,
                "fullyRefunded": event.fully_refunded,
            },
        )
    if isinstance(event, PointsChanged):
        if event.delta <= 0 or event.earned <= 0:
            return None  # debits, and pending points becoming available, are not credits
        return (
            "points.credited",
            event.member_id,
            {"points": event.delta, "reason": event.reason.value, "balance": event.balance},
        )
    if isinstance(event, PointsRedeemed):
        return (
            "points.redeemed",
            event.member_id,
            {"points": event.points, "orderId": event.order_id, "discount": _money(event.discount)},
        )
    if isinstance(event, TierChanged):
        return "tier.changed", event.member_id, {"from": event.from_code, "to": event.to_code}
    if isinstance(event, MissionCompleted):
        return (
            "mission.completed",
            event.member_id,
            {"missionId": str(event.mission_id), "title": event.title, "period": event.period_key},
        )
    if isinstance(event, VoucherClaimed):
        return (
            "voucher.claimed",
            event.member_id,
            {
                "code": event.code,
                "offerId": str(event.offer_id),
                "offerName": event.offer_name,
                "source": event.source,
                "pointsSpent": event.points_spent,
                "expiresAt": event.expires_at.isoformat(),
            },
        )
    if isinstance(event, VoucherRedeemed):
        return (
            "voucher.redeemed",
            event.member_id,
            {
                "code": event.code,
                "orderId": event.order_id,
                "orderAmount": _money(event.order_amount),
                "discount": _money(event.discount),
            },
        )
    if isinstance(event, NpsSubmitted):
        return "nps.submitted", event.member_id, {"score": event.score, "comment": event.comment}
    if isinstance(event, MemberErased):
        return "member.erased", event.member_id, {"memberExternalId": event.external_id}
    return None


SOURCES: tuple[type, ...] = (
    MemberEnrolled,
    OrderCompleted,
    OrderRefunded,
    PointsChanged,
    PointsRedeemed,
    TierChanged,
    MissionCompleted,
    VoucherClaimed,
    VoucherRedeemed,
    NpsSubmitted,
    MemberErased,
)


def register() -> None:
    """React to every business event inside its unit; write deliveries after commit."""
    for kind in SOURCES:
        events.before_commit(kind, on_event)
    events.on(WebhookEvent, record)


async def _member(member_id: int) -> dict[str, Any]:
    """What receivers learn of the member (read once per member per unit of work)."""
    cache = events.unit_cache()
    found = cache.setdefault("webhook_members", {}) if cache is not None else {}
    if member_id not in found:
        row = await sql.row(
            "SELECT external_id, display_name, phone, email, card_code, enrolled_at"
            " FROM member WHERE id = $1",
            [member_id],
        )
        found[member_id] = row or {}
    return found[member_id]  # type: ignore[no-any-return]


async def on_event(event: Any) -> None:
    described = describe(event)
    if described is None:
        return
    name, member_id, data = described
    if not any(name in h.events for h in await hooks()):
        return
    now = clock.now()
    if member_id is not None:
        member = await _member(member_id)
        data = {"memberExternalId": member.get("external_id"), **data}
        if name == "member.enrolled":
            enrolled = sql.decode_datetime(member.get("enrolled_at"))
            data |= {
                "displayName": member.get("display_name"),
                "phone": member.get("phone"),
                "email": member.get("email"),
                "cardCode": member.get("card_code"),
                "enrolledAt": enrolled.isoformat() if enrolled else None,
            }
    event_id = "evt_" + ids.token(15)
    body = json.dumps(
        {"id": event_id, "type": name, "createdAt": now.isoformat(), "data": data},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    emit(WebhookEvent(event_id, name, body, now))


async def record(event: WebhookEvent) -> None:
    """After commit: one delivery per subscribed webhook (again: nothing new)."""
    targets = [h.id for h in await hooks() if event.name in h.events]
    if not targets:
        return
    now = clock.now()
    source, params = sql.values([("webhook_id", "int")], [(t,) for t in targets], 6)
    # RETURNING counts the rows written (an INSERT's status on PostgreSQL holds an oid first).
    made = await sql.rows(
        "INSERT INTO webhook_delivery (webhook_id, event_id, event, payload, status, attempts,"
        " due_at, created_at) SELECT v.webhook_id, $1, $2, $3, 'PENDING', 0, $4, $5"
        f" FROM ({source}) AS v JOIN webhook w ON w.id = v.webhook_id"
        " ON CONFLICT (webhook_id, event_id) DO NOTHING RETURNING id",
        [event.event_id, event.name, event.body, now, event.at, *params],
    )
    if made:
        kick()


def kick() -> None:
    background.kick("webhooks", flush)


# ----------------------------------------------------------------------- delivering


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _claim_sql() -> str:
    skip = " FOR UPDATE SKIP LOCKED" if sql.dialect() == "postgres" else ""
    return (
        "UPDATE webhook_delivery SET due_at = $1, attempts = attempts + 1"
        " WHERE due_at <= $2 AND id IN (SELECT id FROM webhook_delivery"
        f" WHERE due_at <= $3 ORDER BY due_at, id LIMIT $4{skip})"
        " RETURNING id, webhook_id, event_id, event, payload, attempts"
    )


@dataclass
class _Result:
    id: int
    status: str
    due_at: datetime | None
    code: int | None
    error: str | None
    delivered_at: datetime | None


async def flush(limit: int = 10_000) -> int:
    """POST the deliveries that are due; returns how many were delivered."""
    delivered = 0
    handled = 0
    while handled < limit:
        now = clock.now()
        rows = await sql.rows(_claim_sql(), [now + CLAIM, now, now, BATCH])
        if not rows:
            break
        handled += len(rows)
        results = await _deliver_all(rows)
        await _record(results)
        delivered += sum(1 for r in results if r.status == Status.DELIVERED)
    return delivered


async def _deliver_all(rows: list[dict[str, Any]]) -> list[_Result]:
    targets = await _targets({int(r["webhook_id"]) for r in rows})
    gate = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client:

        async def one(row: dict[str, Any]) -> _Result:
            async with gate:
                return await _deliver(client, targets.get(int(row["webhook_id"])), row)

        return list(await asyncio.gather(*(one(r) for r in rows)))


async def _targets(webhook_ids: set[int]) -> dict[int, Hook]:
    where, params = sql.id_list(sorted(webhook_ids), 1)
    return {
        int(r["id"]): Hook(int(r["id"]), r["url"], frozenset(), r["secret"])
        for r in await sql.rows(f"SELECT id, url, secret FROM webhook WHERE id {where}", params)
    }


async def _resolves_private(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if _private(host):
        return True
    try:
        ipaddress.ip_address(host)
        return False
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False  # the POST reports the failure
    return any(not ipaddress.ip_address(info[4][0]).is_global for info in infos)


async def _deliver(client: httpx.AsyncClient, hook: Hook | None, row: dict[str, Any]) -> _Result:
    delivery_id, attempts = int(row["id"]), int(row["attempts"])
    if hook is None:  # deleted meanwhile (its rows go with it)
        return _Result(delivery_id, Status.FAILED, None, None, "webhook deleted", None)
    body = row["payload"].encode()
    code: int | None = None
    if not _allow_private and await _resolves_private(hook.url):
        problem = "refused: the URL resolves to a private address"
    else:
        headers = {
            "content-type": "application/json",
            "user-agent": "loyalty-webhooks/1",
            "x-loyalty-event": row["event"],
            "x-loyalty-event-id": row["event_id"],
            "x-loyalty-delivery": str(delivery_id),
            SIGNATURE_HEADER: signature(hook.secret, body),
        }
        try:
            response = await client.post(hook.url, content=body, headers=headers)
            code = response.status_code
            problem = "" if 200 <= code < 300 else f"HTTP {code}"
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}: {exc}"[:300] or type(exc).__name__
    now = clock.now()
    if not problem:
        return _Result(delivery_id, Status.DELIVERED, None, code, None, now)
    log.warning(
        "webhook %s: %s %s not delivered (%s)", hook.id, row["event"], row["event_id"], problem
    )
    if attempts >= MAX_ATTEMPTS:
        return _Result(delivery_id, Status.FAILED, None, code, problem, None)
    wait = min(RETRY_BASE * 2 ** (attempts - 1), MAX_BACKOFF)
    return _Result(delivery_id, Status.PENDING, now + wait, code, problem, None)


async def _record(results: Sequence[_Result]) -> None:
    source, params = sql.values(
        [
            ("id", "int"),
            ("status", "text"),
            ("due_at", "timestamp"),
            ("code", "int"),
            ("error", "text"),
            ("delivered_at", "timestamp"),
        ],
        [(r.id, r.status, r.due_at, r.code, r.error, r.delivered_at) for r in results],
        1,
    )
    await sql.execute(
        "UPDATE webhook_delivery SET status = v.status, due_at = v.due_at,"
        " last_status_code = v.code,"
        " last_error = v.error, delivered_at = v.delivered_at"
        f" FROM ({source}) AS v WHERE webhook_delivery.id = v.id",
        params,
    )
