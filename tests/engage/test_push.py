"""Push delivery: the outbox, the webhook sender against a real HTTP socket, quiet hours."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest

from core import clock
from core.settings import Settings
from engage import background, push
from engage.models import Notification, NotificationKind
from engage.notifications import Draft, notify
from server import engage_jobs
from tests.conftest import Api
from tests.engage import factories as f

LATE_EVENING = f.at(2026, 6, 10, 15, 0)  # 22:00 in Ho Chi Minh City
QUIET_END = f.at(2026, 6, 11, 1, 0)  # 08:00 the next morning


class Recorder:
    """Stands in for the phone platforms: records what it was handed."""

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[push.PushMessage]] = []
        self.fail = fail

    async def send(self, messages: list[push.PushMessage]) -> None:
        if self.fail:
            raise push.PushFailed("platform down")
        self.batches.append(messages)

    @property
    def titles(self) -> list[str]:
        return [m.title for batch in self.batches for m in batch]


@asynccontextmanager
async def webhook(statuses: list[int]) -> AsyncIterator[tuple[str, list[dict[str, object]]]]:
    """A real HTTP server on a local port answering with `statuses` in turn (then 200)."""
    received: list[dict[str, object]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        received.append(json.loads(await reader.readexactly(length)))
        status = statuses.pop(0) if statuses else 200
        writer.write(
            f"HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/push", received
    finally:
        server.close()
        await server.wait_closed()


async def test_campaign_pushes_go_out_once_through_the_outbox(api: Api) -> None:
    clock.freeze(f.NOON_LOCAL)
    recorder = Recorder()
    push.use(recorder)
    for _ in range(3):
        await f.member()
    await f.campaign(api, title="Sale")
    await background.drain()
    await push.flush()
    assert recorder.titles == ["Sale"] * 3
    assert await Notification.filter(push_due_at__isnull=False).count() == 0
    assert await Notification.filter(pushed_at__isnull=True).count() == 0


async def test_webhook_sender_retries_with_backoff_then_delivers() -> None:
    clock.freeze(f.NOON_LOCAL)
    m = await f.member()
    async with webhook([503, 502]) as (url, received):
        push.use(push.WebhookSender(url, attempts=4, backoff=0.01))
        await notify(Draft(m.id, NotificationKind.TIER_UP, "tier:x", "Gold!", "Welcome"))
        await background.drain()
        await push.flush()
    # two refusals, then accepted: the same batch three times, and it is marked pushed
    assert len(received) == 3
    (note,) = received[-1]["notifications"]  # type: ignore[misc]
    assert note["title"] == "Gold!" and note["member_id"] == m.id and note["kind"] == "TIER_UP"
    row = await Notification.get(member_id=m.id)
    assert row.pushed_at is not None and row.push_due_at is None


async def test_a_refused_push_is_retried_later_and_given_up_after_max_attempts() -> None:
    clock.freeze(f.NOON_LOCAL)
    m = await f.member()
    push.use(Recorder(fail=True))
    await notify(Draft(m.id, NotificationKind.TIER_UP, "tier:y", "Gold!", "Welcome"))
    await background.drain()
    for _ in range(push.MAX_ATTEMPTS):
        await push.flush()
        row = await Notification.get(member_id=m.id)
        assert row.pushed_at is None
        clock.advance(push.RETRY_AFTER)
    row = await Notification.get(member_id=m.id)
    assert (row.push_attempts, row.push_due_at) == (push.MAX_ATTEMPTS, None)
    recorder = Recorder()
    push.use(recorder)
    await push.flush()
    assert recorder.batches == []


async def test_webhook_that_refuses_a_batch_raises_without_endless_retries() -> None:
    async with webhook([400]) as (url, received):
        sender = push.WebhookSender(url, attempts=4, backoff=0.01)
        with pytest.raises(push.PushFailed):
            await sender.send([push.PushMessage(1, 1, "CAMPAIGN", "t", "b", None, "now")])
    assert len(received) == 1


async def test_transactional_push_waits_for_quiet_hours_but_the_inbox_does_not(
    api: Api, settings: Settings
) -> None:
    # given 22:00 local, inside quiet hours
    clock.freeze(LATE_EVENING)
    recorder = Recorder()
    push.use(recorder)
    m = await f.member()
    # when a transactional notification is made
    await notify(Draft(m.id, NotificationKind.MISSION_COMPLETED, "mission:1", "Done", "Well done"))
    await background.drain()
    # then it is in the inbox at once, but nothing is pushed until quiet hours end
    from tests.factories import token_for

    inbox = (await api(f.INBOX, token=token_for(m, settings)))["myNotifications"]
    assert [n["title"] for n in inbox] == ["Done"]
    await push.flush()
    clock.freeze(QUIET_END - timedelta(minutes=1))
    await push.flush()
    assert recorder.titles == []
    clock.freeze(QUIET_END)
    await push.flush()
    assert recorder.titles == ["Done"]


def test_the_webhook_sender_is_chosen_when_its_url_is_set() -> None:
    engage_jobs.configure(Settings(push_webhook_url="http://push.example/hook"))
    assert isinstance(push.sender(), push.WebhookSender)
    engage_jobs.configure(Settings(push_webhook_url=None))
    assert isinstance(push.sender(), push.LogSender)
