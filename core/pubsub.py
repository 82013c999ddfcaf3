"""Live messages between processes over Redis pub/sub.

`publish(channel, message)` sends a JSON object to every process. Each process holds one
Redis subscription connection (the Hub) and fans messages out to local listeners, so a
thousand sockets watching one member cost one Redis channel subscription, not a thousand.

`MemberEvent`s raised by a write are published on `member:{id}` after it commits, as the
outbox part "live": exactly once per outbox row (a marker key guards the PUBLISHes), ONE
message per member and write, a JSON list of that write's events (an action that moves 50
missions is one message, not 50). `messages(raw)` reads either form.

On a Redis Cluster (core/redis.py) this is classic pub/sub, not sharded: a cluster forwards
every PUBLISH to every node, so the Hub's one subscription connection (redis-py's
ClusterPubSub, opened on the node serving its first channel) hears every channel, and a
PUBLISH may go to any node, from a script too. Sharded pub/sub (SSUBSCRIBE) would need one
connection per shard for the Hub's many `member:{id}` channels, for no gain at this size.
tests/core/test_redis_cluster.py checks channels served by three different nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

from core import outbox, redis

log = logging.getLogger(__name__)

_QUEUE_SIZE = 256


async def publish(channel: str, message: dict[str, Any]) -> None:
    await redis.client().publish(redis.key("ch", channel), json.dumps(message, default=str))


async def publish_raw(channel: str, payload: str) -> None:
    await redis.client().publish(redis.key("ch", channel), payload)


class MemberEvent:
    """An event the member's app sees live: published to `member:{member_id}` after commit.

    Subclasses are dataclasses with a `member_id` and a `message()` whose "type" names the
    GraphQL MemberEvent type.
    """

    member_id: int

    def message(self) -> dict[str, Any]:
        raise NotImplementedError

    def encoded(self) -> str:
        """message() as JSON (an event that holds its JSON already gives it as it is)."""
        return json.dumps(self.message(), default=str)


# Publishes once: the first relay of a row sets the marker, a retried relay finds it.
_PUBLISH_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  for i = 2, #ARGV, 2 do redis.call('PUBLISH', ARGV[i], ARGV[i + 1]) end
end
return 0
"""


# A message type sent packed -> how a subscriber unpacks it into the messages its readers
# know. A write sends what it must (50 missions' progress is 50 messages' worth), and most
# members are not watching: the short form is what every write pays for, the long one only a
# process with a subscriber.
Unpack = Callable[[dict[str, Any]], list[dict[str, Any]]]
_unpackers: dict[str, Unpack] = {}


def packed(message_type: str, unpack: Unpack) -> None:
    """Messages of `message_type` are unpacked by `unpack` (into one or more) where read."""
    _unpackers[message_type] = unpack


def messages(raw: str | bytes) -> list[dict[str, Any]]:
    """The messages of one published payload: a JSON object, or a list of them; packed
    ones unpacked."""
    try:
        decoded = json.loads(raw)
    except ValueError:
        return []
    found = decoded if isinstance(decoded, list) else [decoded]
    read: list[dict[str, Any]] = []
    for message in found:
        if isinstance(message, dict):
            unpack = _unpackers.get(message.get("type"))  # type: ignore[arg-type]
            if unpack:
                read += unpack(message)
            else:
                read.append(message)
    return read


def _collect_live(events: list[Any]) -> list[list[Any]] | None:
    by_member: dict[int, list[str]] = defaultdict(list)
    for e in events:
        if isinstance(e, MemberEvent):
            by_member[e.member_id].append(e.encoded())
    found = [[member_id, f"[{','.join(batch)}]"] for member_id, batch in by_member.items()]
    return found or None


def _apply_live(row_id: int, published: list[list[Any]], pipe: redis.Scripts) -> None:
    args: list[Any] = [outbox.MARKER_TTL]
    for member_id, payload in published:
        args += [redis.key("ch", f"member:{member_id}"), payload]
    pipe.script(_PUBLISH_ONCE, [outbox.marker("live", row_id)], args)


def register_live_part() -> None:
    outbox.part("live", _collect_live, _apply_live)


class Hub:
    """One Redis subscription per process, fanned out to asyncio queues."""

    def __init__(self) -> None:
        # channel -> each listener's queue -> the text a payload must contain to be put in
        # it (None: every payload)
        self._listeners: dict[str, dict[asyncio.Queue[str], str | None]] = defaultdict(dict)
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
            listeners = self._listeners.get(message["channel"])
            if not listeners:
                continue
            data = message["data"]
            text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
            for queue, containing in list(listeners.items()):
                if containing is None or containing in text:
                    with contextlib.suppress(asyncio.QueueFull):
                        queue.put_nowait(data)

    @contextlib.asynccontextmanager
    async def listen(
        self, channel: str, containing: str | None = None
    ) -> AsyncIterator[asyncio.Queue[str]]:
        """A queue of the payloads published on `channel` from now on; with `containing`,
        only those whose text contains it (a listener waiting for one rare message is not
        woken by every other: a socket's revocation watcher, among a member's events)."""
        full = redis.key("ch", channel)
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=_QUEUE_SIZE)
        async with self._lock:
            await self._ensure_reader()
            first = not self._listeners[full]
            self._listeners[full][queue] = containing
            if first:
                await self._pubsub.subscribe(full)
        try:
            yield queue
        finally:
            async with self._lock:
                self._listeners[full].pop(queue, None)
                if not self._listeners[full]:
                    del self._listeners[full]
                    # Bounded: a listener cancelled at shutdown must not wait on Redis.
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(self._pubsub.unsubscribe(full), 1.0)

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


# Every listener of a channel gets the same payload object: decoded once per process, the
# same dicts for all (gql/subscriptions keeps what it builds from a message on it).
_shared_messages = functools.lru_cache(maxsize=256)(messages)


async def subscribe(channel: str) -> AsyncIterator[dict[str, Any]]:
    """Yield each message published on `channel` from now on, decoded (the same dicts for
    every subscriber of the process: do not change what you did not add)."""
    async with hub.listen(channel) as queue:
        while True:
            for message in _shared_messages(await queue.get()):
                yield message
