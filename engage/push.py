"""Push: the webhook sender that hands notifications to a push gateway (FCM, APNs or one in
front of both), as the PUSH channel's Sender (engage/senders.py).

WebhookSender POSTs {"notifications": [...]} as JSON to LOYALTY_PUSH_WEBHOOK_URL, one
request per batch, retrying connection errors, timeouts, 429 and 5xx with exponential
backoff within the call; the batch is accepted or refused whole. The delivery outbox
(engage/deliveries.py) retries what it refused later and keeps the record.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx

from engage.senders import SENT, Message, Outcome


def payload(m: Message) -> dict[str, Any]:
    """One notification as the gateway receives it."""
    return {
        "delivery_id": m.delivery_id,
        "notification_id": m.notification_id,
        "member_id": m.member_id,
        "kind": m.kind,
        "template": m.template_key,
        "campaign_id": m.campaign_id,
        "title": m.title,
        "body": m.body,
        "deep_link": m.deep_link,
        "created_at": m.created_at.isoformat(),
    }


class WebhookSender:
    def __init__(
        self, url: str, *, attempts: int = 4, backoff: float = 0.5, timeout: float = 10.0
    ) -> None:
        self.url = url
        self.attempts = attempts
        self.backoff = backoff
        self.timeout = timeout

    async def send(self, messages: Sequence[Message]) -> list[Outcome]:
        body = {"notifications": [payload(m) for m in messages]}
        problem, final = "", False
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
                    return [SENT for _ in messages]
                problem = f"push gateway answered HTTP {response.status_code}"
                if response.status_code != 429 and response.status_code < 500:
                    final = True  # the gateway refuses this batch; retrying will not help
                    break
        return [Outcome(problem or "push gateway unreachable", final) for _ in messages]
