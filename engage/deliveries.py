"""The message outbox of every channel: queue deliveries, send them, keep the record.

`queue(drafts)` writes MessageDelivery rows in ONE statement inside the caller's
transaction (a campaign batch, a transactional notification), keeping only members who
may be messaged on the row's channel now: not erased, and consented (PUSH unless refused;
SMS, EMAIL and ZALO only when granted, members/consents.py). A row owes its message from
due_at on.

`flush(channel)` sends what is due: it claims a batch with one conditional UPDATE ...
RETURNING (the claim moves due_at forward by CLAIM, so a crash retries later and two
processes never claim the same row), reads the members' addresses (one statement), hands
the batch to the channel's Sender and writes every outcome in one statement: SENT; a
refusal for good, or the MAX_ATTEMPTS-th failure, is FAILED with the last error; any other
failure comes due again after RETRY_BASE x 2^(attempts-1). A member erased meanwhile is
CANCELLED; one without a phone (SMS, ZALO) or email (EMAIL) is FAILED. Nothing is sent
while the program is inside a quiet window: the flush waits for its end.

Delivery is at-least-once: a crash after the provider accepted a batch but before the
outcome was written sends it again ({deliveryId} lets providers drop the repeat).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core import clock, sql
from core.events import after_commit
from engage import background, links, quiet_hours, recipients, senders
from engage.models import DeliveryStatus
from engage.templates import TRANSACTIONAL
from members.consents import DEFAULT_GRANTED, Channel
from members.program import get_program

log = logging.getLogger("loyalty.messages")

BATCH = 500
CLAIM = timedelta(minutes=2)
MAX_ATTEMPTS = 5
RETRY_BASE = timedelta(minutes=1)


@dataclass(frozen=True)
class DeliveryDraft:
    member_id: int
    channel: Channel
    template_key: str
    body: str
    title: str | None
    due_at: datetime
    created_at: datetime
    campaign_id: int | None = None
    notification_id: int | None = None
    deep_link: str | None = None
    data: dict[str, str] = field(default_factory=dict)


COLUMNS: list[tuple[str, str]] = [
    ("member_id", "int"),
    ("channel", "text"),
    ("template_key", "text"),
    ("campaign_id", "int"),
    ("notification_id", "int"),
    ("title", "text"),
    ("body", "text"),
    ("deep_link", "text"),
    ("data", "json"),
    ("due_at", "timestamp"),
    ("created_at", "timestamp"),
    ("default_granted", "bool"),
]


async def queue(drafts: list[DeliveryDraft]) -> int:
    """Write the deliveries of members who may get them (inside the caller's transaction);
    returns how many were written. Channels with a message due now are flushed after commit."""
    if not drafts:
        return 0
    source, params = sql.values(
        COLUMNS,
        [
            (
                d.member_id,
                d.channel.value,
                d.template_key,
                d.campaign_id,
                d.notification_id,
                d.title[:100] if d.title else None,
                d.body[:1000],
                d.deep_link,
                sql.json_param(d.data) if d.data else None,
                d.due_at,
                d.created_at,
                DEFAULT_GRANTED[d.channel],
            )
            for d in drafts
        ],
        1,
    )
    data = "v.data::jsonb" if sql.dialect() == "postgres" else "v.data"
    made = await sql.rows(
        "INSERT INTO message_delivery (member_id, channel, template_key, campaign_id,"
        " notification_id, title, body, deep_link, data, status, attempts, due_at, created_at)"
        " SELECT v.member_id, v.channel, v.template_key, v.campaign_id, v.notification_id,"
        f" v.title, v.body, v.deep_link, {data}, 'PENDING', 0, v.due_at, v.created_at"
        f" FROM ({source}) AS v JOIN member m ON m.id = v.member_id AND m.erased_at IS NULL"
        " WHERE COALESCE((SELECT c.granted FROM member_consent c"
        " WHERE c.member_id = v.member_id AND c.channel = v.channel), v.default_granted)"
        " RETURNING channel, due_at",
        params,
    )
    now = clock.now()
    due_now = {Channel(r["channel"]) for r in made if _when(r["due_at"]) <= now}
    if due_now:
        after_commit(lambda: _kick(due_now))
    return len(made)


def _when(value: Any) -> datetime:
    found = sql.decode_datetime(value)
    assert found is not None
    return found


async def _kick(channels: set[Channel]) -> None:
    for channel in channels:
        kick(channel)


def kick(channel: Channel) -> None:
    """Send `channel`'s due messages in the background (the job does it too)."""

    async def run() -> int:
        return await flush(channel)

    background.kick(f"deliveries:{channel.value}", run)


# ----------------------------------------------------------------------- sending


def _claim_sql() -> str:
    skip = " FOR UPDATE SKIP LOCKED" if sql.dialect() == "postgres" else ""
    return (
        "UPDATE message_delivery SET due_at = $1, attempts = attempts + 1"
        " WHERE due_at <= $2 AND id IN (SELECT id FROM message_delivery"
        f" WHERE channel = $3 AND due_at <= $4 ORDER BY due_at, id LIMIT $5{skip})"
        " RETURNING id, member_id, template_key, campaign_id, notification_id, title, body,"
        " deep_link, data, attempts, created_at"
    )


async def flush(channel: Channel | None = None, limit: int = 1_000_000) -> int:
    """Send the messages due now (on one channel, or all); returns how many were sent."""
    sent = 0
    for ch in [channel] if channel is not None else list(Channel):
        sent += await _flush(ch, limit)
    return sent


async def _flush(channel: Channel, limit: int) -> int:
    program = await get_program()
    windows = quiet_hours.windows_of(program)
    sent = 0
    handled = 0
    while handled < limit:
        now = clock.now()
        if quiet_hours.quiet_until(now, windows, program.timezone) is not None:
            break  # nothing leaves inside a quiet window; the job sends it at its end
        rows = await sql.rows(_claim_sql(), [now + CLAIM, now, channel.value, now, BATCH])
        if not rows:
            break
        handled += len(rows)
        sent += await _send(channel, rows, now)
    return sent


@dataclass
class _Result:
    id: int
    status: DeliveryStatus
    due_at: datetime | None
    sent_at: datetime | None
    error: str | None


async def _send(channel: Channel, rows: list[dict[str, Any]], now: datetime) -> int:
    found = await recipients.of(int(r["member_id"]) for r in rows)
    results: list[_Result] = []
    messages: list[senders.Message] = []
    attempts: dict[int, int] = {}
    for r in rows:
        delivery_id = int(r["id"])
        attempts[delivery_id] = int(r["attempts"])
        who = found.get(int(r["member_id"]))
        if who is None or who.erased:
            results.append(_Result(delivery_id, DeliveryStatus.CANCELLED, None, None, "erased"))
            continue
        to = who.address(channel)
        if not to:
            missing = "email" if channel is Channel.EMAIL else "phone number"
            results.append(_Result(delivery_id, DeliveryStatus.FAILED, None, None, f"no {missing}"))
            continue
        messages.append(_message(channel, r, to))
    if messages:
        try:
            outcomes = await senders.sender(channel).send(messages)
        except Exception as exc:  # a sender's bug must not lose the batch: retry it later
            log.exception("%s sender failed", channel.value)
            outcomes = [senders.Outcome(f"{type(exc).__name__}: {exc}"[:300])] * len(messages)
        done = clock.now()
        for m, outcome in zip(messages, outcomes, strict=True):
            results.append(_outcome(m.delivery_id, outcome, attempts[m.delivery_id], done))
    await _record(results)
    failed = [r for r in results if r.status is not DeliveryStatus.SENT and r.error]
    if failed:
        log.warning(
            "%s: %d of %d message(s) not sent (first: %s)",
            channel.value,
            len(failed),
            len(results),
            failed[0].error,
        )
    return sum(1 for r in results if r.status is DeliveryStatus.SENT)


def _outcome(delivery_id: int, outcome: senders.Outcome, attempts: int, now: datetime) -> _Result:
    if outcome.sent:
        return _Result(delivery_id, DeliveryStatus.SENT, None, now, None)
    if outcome.final or attempts >= MAX_ATTEMPTS:
        return _Result(delivery_id, DeliveryStatus.FAILED, None, None, outcome.error)
    retry = now + RETRY_BASE * 2 ** (attempts - 1)
    return _Result(delivery_id, DeliveryStatus.PENDING, retry, None, outcome.error)


def _message(channel: Channel, r: dict[str, Any], to: str) -> senders.Message:
    delivery_id = int(r["id"])
    data = dict(sql.decode_json(r["data"]) or {})
    link = links.url_for(delivery_id)
    data["link"] = link
    key = r["template_key"]
    kind = TRANSACTIONAL.get(key)
    created = sql.decode_datetime(r["created_at"])
    assert created is not None
    return senders.Message(
        delivery_id=delivery_id,
        channel=channel,
        member_id=int(r["member_id"]),
        to=to,
        template_key=key,
        kind=kind.value if kind else "CAMPAIGN",
        title=links.fill(r["title"], link) if r["title"] else None,
        body=links.fill(r["body"], link),
        deep_link=r["deep_link"],
        campaign_id=int(r["campaign_id"]) if r["campaign_id"] is not None else None,
        notification_id=(int(r["notification_id"]) if r["notification_id"] is not None else None),
        created_at=created,
        data=data,
    )


RESULT_COLUMNS: list[tuple[str, str]] = [
    ("id", "int"),
    ("status", "text"),
    ("due_at", "timestamp"),
    ("sent_at", "timestamp"),
    ("error", "text"),
]


async def _record(results: list[_Result]) -> None:
    if not results:
        return
    source, params = sql.values(
        RESULT_COLUMNS,
        [
            (r.id, r.status.value, r.due_at, r.sent_at, r.error[:500] if r.error else None)
            for r in results
        ],
        1,
    )
    await sql.execute(
        "UPDATE message_delivery SET status = v.status, due_at = v.due_at,"
        " sent_at = COALESCE(v.sent_at, message_delivery.sent_at), last_error = v.error"
        f" FROM ({source}) AS v WHERE message_delivery.id = v.id",
        params,
    )


async def cancel_for(member_id: int) -> int:
    """Cancel what is still owed to a member (erasure)."""
    return await sql.execute(
        "UPDATE message_delivery SET status = 'CANCELLED', due_at = NULL,"
        " last_error = 'erased' WHERE member_id = $1 AND due_at IS NOT NULL",
        [member_id],
    )


async def forget_words(member_id: int) -> int:
    """Blank what a member's messages said (erasure): their counts and times stay."""
    return await sql.execute(
        "UPDATE message_delivery SET title = NULL, body = '', data = NULL WHERE member_id = $1",
        [member_id],
    )


# ----------------------------------------------------------------------- reading


async def of_member(member_id: int, limit: int = 100) -> list[dict[str, Any]]:
    """The member's latest deliveries, newest first (care and export)."""
    return await sql.rows(
        "SELECT id, channel, template_key, campaign_id, notification_id, title, body, status,"
        " attempts, last_error, created_at, sent_at, opened_at FROM message_delivery"
        " WHERE member_id = $1 ORDER BY id DESC LIMIT $2",
        [member_id, limit],
    )
