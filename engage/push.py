"""Push delivery: one small sender interface, a webhook sender, a log sender, the outbox.

Every notification that owes a push is an outbox row (Notification.push_due_at set).
`flush()` claims due rows with one conditional UPDATE ... RETURNING (a claim moves
push_due_at forward by the retry delay, so a crash or a failure retries later, and two
processes never claim the same row), hands them to the sender in batches, and clears
push_due_at once sent. The inbox is exactly-once; a push is at-least-once (a crash after
the sender accepted a batch but before it was marked sends it again).

    PushSender     the interface: `async send(messages)`; raises PushFailed when the
                   batch was not accepted (FCM or APNs senders implement the same)
    LogSender      the default: logs what would be pushed
    WebhookSender  POSTs {"notifications": [...]} as JSON to LOYALTY_PUSH_WEBHOOK_URL,
                   retrying connection errors, 429 and 5xx with exponential backoff
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx

from core import clock
from core.settings import Settings
from engage import sql

log = logging.getLogger("loyalty.push")

BATCH = 500
MAX_ATTEMPTS = 5


@dataclass
class PushMessage:
    notification_id: int
    member_id: int
    kind: str
    title: str
    body: str
    deep_link: str | None
    created_at: str


class PushFailed(Exception):
    """The sender could not hand the batch over; the outbox retries it later."""


class PushSender(Protocol):
    async def send(self, messages: list[PushMessage]) -> None: ...


class LogSender:
    async def send(self, messages: list[PushMessage]) -> None:
        log.info("push: %d notification(s)", len(messages))
        for m in messages:
            log.debug("push to member %s: %s", m.member_id, m.title)


class WebhookSender:
    def __init__(
        self, url: str, *, attempts: int = 4, backoff: float = 0.5, timeout: float = 10.0
    ) -> None:
        self.url = url
        self.attempts = attempts
        self.backoff = backoff
        self.timeout = timeout

    async def send(self, messages: list[PushMessage]) -> None:
        body = {"notifications": [asdict(m) for m in messages]}
        problem = ""
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            for attempt in range(self.attempts):
                if attempt:
                    await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
                try:
                    response = await client.post(self.url, json=body)
                except httpx.HTTPError as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                    continue
                if response.status_code < 300:
                    return
                problem = f"HTTP {response.status_code}"
                if response.status_code != 429 and response.status_code < 500:
                    break  # the receiver refuses this batch; retrying now will not help
        raise PushFailed(f"push webhook failed: {problem}")


_sender: PushSender = LogSender()


def configure(settings: Settings) -> None:
    global _sender
    _sender = WebhookSender(settings.push_webhook_url) if settings.push_webhook_url else LogSender()


def use(sender: PushSender) -> None:
    global _sender
    _sender = sender


def sender() -> PushSender:
    return _sender


# A claimed row comes due again after this unless it was sent: the retry after a failure
# or a crash (the webhook sender has already retried with backoff within its call).
RETRY_AFTER = timedelta(minutes=2)


_CLAIM = """
UPDATE notification SET push_due_at = $1, push_attempts = push_attempts + 1
WHERE push_due_at <= $2 AND id IN (
    SELECT id FROM notification WHERE push_due_at <= $3 ORDER BY push_due_at, id LIMIT $4
)
RETURNING id, member_id, kind, title, body, deep_link, created_at, push_attempts
"""


def _message(row: dict[str, Any]) -> PushMessage:
    created = row["created_at"]
    return PushMessage(
        notification_id=int(row["id"]),
        member_id=int(row["member_id"]),
        kind=row["kind"],
        title=row["title"],
        body=row["body"],
        deep_link=row["deep_link"],
        created_at=created.isoformat() if isinstance(created, datetime) else str(created),
    )


async def flush(limit: int = 10 * BATCH) -> int:
    """Send the pushes that are due now; returns how many were sent."""
    sent = 0
    while sent < limit:
        now = clock.now()
        rows = await sql.rows(_CLAIM, [now + RETRY_AFTER, now, now, BATCH])
        if not rows:
            break
        messages = [_message(r) for r in rows]
        ids = [m.notification_id for m in messages]
        try:
            await _sender.send(messages)
        except Exception:
            log.warning(
                "push of %d notification(s) failed; retrying later", len(ids), exc_info=True
            )
            given_up = [int(r["id"]) for r in rows if int(r["push_attempts"]) >= MAX_ATTEMPTS]
            await _mark(given_up, None)
            break
        await _mark(ids, clock.now())
        sent += len(ids)
    return sent


async def _mark(ids: list[int], pushed_at: datetime | None) -> None:
    from engage.models import Notification

    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        await Notification.filter(id__in=chunk).update(push_due_at=None, pushed_at=pushed_at)
