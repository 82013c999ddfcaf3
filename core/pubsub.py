"""Live messages between processes over Redis pub/sub.

`publish(channel, message)` sends a JSON object to every process. Each process holds one
Redis subscription connection (the Hub) and fans messages out to local listeners, so a
thousand sockets watching one member cost one Redis channel subscription, not a thousand.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from core import redis

log = logging.getLogger(__name__)

_QUEUE_SIZE = 256


async def publish(channel: str, message: dict[str, Any]) -> None:
    await redis.client().publish(redis.key("ch", channel), json.dumps(message, default=str))


async def publish_raw(channel: str, payload: str) -> None:
    await redis.client().publish(redis.key("ch", channel), payload)


class Hub:
    """One Redis subscription per process, fanned out to asyncio queues."""

    def __init__(self) -> None:
        self._listeners: dict[str, set[asyncio.Queue[str]]] = defaultdict(set)
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def _ensure_reader(self) -> None:
        if self._pubsub is None:
            self._pubsub = redis.client().pubsub(ignore_subscribe_messages=True)
            # A pubsub needs one subscription before get_message() reads anything.
            await self._pubsub.subscribe(redis.key("ch", "__hub__"))
            self._reader = asyncio.create_task(self._read(), name="pubsub-hub")

    async def _read(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("pubsub read failed; retrying", exc_info=True)
                await asyncio.sleep(1.0)
                continue
            if not message or message.get("type") != "message":
                continue
            channel = message["channel"]
            for queue in list(self._listeners.get(channel, ())):
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(message["data"])

    @contextlib.asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[asyncio.Queue[str]]:
        full = redis.key("ch", channel)
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=_QUEUE_SIZE)
        async with self._lock:
            await self._ensure_reader()
            first = not self._listeners[full]
            self._listeners[full].add(queue)
            if first:
                await self._pubsub.subscribe(full)
        try:
            yield queue
        finally:
            async with self._lock:
                self._listeners[full].discard(queue)
                if not self._listeners[full]:
                    del self._listeners[full]
                    with contextlib.suppress(Exception):
                        await self._pubsub.unsubscribe(full)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        self._pubsub = None
        self._reader = None
        self._listeners.clear()


hub = Hub()


async def subscribe(channel: str) -> AsyncIterator[dict[str, Any]]:
    """Yield each message published on `channel` from now on, decoded."""
    async with hub.listen(channel) as queue:
        while True:
            yield json.loads(await queue.get())
