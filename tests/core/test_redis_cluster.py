"""The service on a Redis Cluster (a `redis+cluster://` URL): leaderboard scripts, the
rebuild's MULTI and the reconciliation on one hash slot, the outbox relay's pipeline of
scripts spread over nodes, and pub/sub heard whichever node a channel hashes to.

The process's Redis is swapped for the cluster the suite was given, or one started for it
(tests/cluster.py); the database is the suite's."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from redis.asyncio.cluster import RedisCluster

from core import clock, events, outbox, pubsub, redis
from game.leaderboards import rebuild, reconcile, scoring, store
from rewards.ledger.events import PointsChanged, Reason
from tests import backends, factories
from tests.conftest import Api
from tests.game.factories import UPSERT_BOARD, board, earn, freeze, members, tick


@pytest_asyncio.fixture
async def cluster(cluster_url: str) -> AsyncIterator[RedisCluster]:
    """This process's Redis, for the test: the cluster (pub/sub hub restarted on it)."""
    client = redis.connect(cluster_url, **redis.options())
    assert isinstance(client, RedisCluster)
    await pubsub.hub.close()
    previous = redis.use(client)
    try:
        await backends.delete_keys(client, redis.patterns())
        await store.refresh_zone()
        yield client
    finally:
        await pubsub.hub.close()
        await backends.delete_keys(client, redis.patterns())
        redis.use(previous)  # type: ignore[arg-type]
        await client.aclose()


async def _keys(client: RedisCluster, pattern: str) -> list[str]:
    return [k async for k in client.scan_iter(match=pattern, count=1000)]


async def test_leaderboards_run_on_a_cluster(api: Api, cluster: RedisCluster) -> None:
    # given orders recorded (each relayed through the outbox's pipeline) and a custom board
    # built from history (the rebuild's MULTI)
    freeze()
    a, b, c = await members(3, "cl")
    for n, m in enumerate((a, b, c), start=1):
        await earn(api, m.external_id, 10 * n)
        tick(0.25)
    made = await api.admin(
        UPSERT_BOARD,
        {"i": {"key": "orders", "name": "Orders", "metric": "ACTION_COUNT", "actionType": "order"}},
    )
    assert made["upsertLeaderboard"]["errors"] == []
    await earn(api, a.external_id, 25)
    # then every leaderboard key, marker included, lives in ONE hash slot
    keys = await _keys(cluster, store.root() + ":*")
    kinds = {k.removeprefix(store.root() + ":").split(":")[0] for k in keys}
    assert kinds >= {"z", "h", "defs", "built", "ob"}
    assert len({cluster.keyslot(k) for k in keys}) == 1
    # and the boards read right (the read script, `me` included)
    top = await board(api)
    assert [(e["member"]["id"], e["score"]) for e in top["entries"]] == [
        (str(a.id), 35),
        (str(c.id), 30),
        (str(b.id), 20),
    ]
    assert [e["score"] for e in (await board(api, "orders"))["entries"]] == [2, 1, 1]
    # when a board drifts, the reconciliation repairs it on the cluster
    await cluster.zincrby(store.zkey("points", "all"), 3, (await _tie(a.id)))
    await outbox.drain()
    report = await reconcile.reconcile()
    assert report.repaired == {("points", "all"): 1}
    assert await board(api) == top
    # and a rebuild on the cluster gives the same boards
    await rebuild.rebuild()
    assert await board(api) == top


async def _tie(member_id: int) -> str:
    return scoring.tie(member_id, (await store.members_in("points", "all"))[member_id][1])


@dataclass
class Hello(pubsub.MemberEvent):
    member_id: int

    def message(self) -> dict[str, Any]:
        return {"type": "Hello"}


async def test_pubsub_hears_channels_of_every_node(cluster: RedisCluster) -> None:
    # given channels whose names hash to slots served by three different nodes
    names: dict[str, str] = {}
    n = 0
    while len(names) < 3:
        name = f"spread-{n}"
        node = cluster.get_node_from_key(redis.key("ch", name))
        assert node is not None
        names.setdefault(node.name, name)
        n += 1
    channels = list(names.values())
    streams = [pubsub.subscribe(name) for name in channels]
    waits = [asyncio.ensure_future(s.__anext__()) for s in streams]
    await asyncio.sleep(0.3)  # let the hub subscribe
    # when a message is published on each (through the cluster client)
    for i, name in enumerate(channels):
        await pubsub.publish(name, {"n": i})
    # then each listener hears its own
    heard = await asyncio.gather(*(asyncio.wait_for(w, 5) for w in waits))
    assert heard == [{"n": i} for i in range(3)]
    for stream in streams:
        await stream.aclose()


async def past_the_welcome(stream: AsyncIterator[dict[str, Any]]) -> dict[str, Any]:
    """The next message but the enrolment's welcome: published before the listener
    subscribed, it may still reach it (a cluster's nodes pass PUBLISH on asynchronously)."""
    async for message in stream:
        if message["type"] != "NotificationReceived" or not message["notification"][
            "title"
        ].startswith("Chào mừng"):
            return message
    raise AssertionError("the stream ended")


async def test_the_outbox_relay_applies_both_parts_once_across_nodes(
    cluster: RedisCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a member listening to their channel
    freeze()
    member = await factories.member()
    stream = pubsub.subscribe(f"member:{member.id}")
    first = asyncio.ensure_future(past_the_welcome(stream))
    await asyncio.sleep(0.3)
    relayed: list[outbox.Entry] = []
    real = outbox.relay

    async def keep(entry: outbox.Entry) -> bool:
        relayed.append(entry)
        return await real(entry)

    monkeypatch.setattr(outbox, "relay", keep)
    # when a unit of work raises a live event and a leaderboard change: one outbox row
    # whose two parts are scripts on different slots, in one pipeline
    async with events.unit_of_work():
        events.emit(Hello(member.id))
        events.emit(PointsChanged(member.id, 7, 7, Reason.ORDER, clock.now(), earned=7))
    # then the member hears both events, the board counts the points
    assert await asyncio.wait_for(first, 5) == {"type": "Hello"}
    assert (await asyncio.wait_for(stream.__anext__(), 5))["type"] == "PointsChanged"
    assert (await store.members_in("points", "all"))[member.id][0] == 7
    [entry] = relayed
    markers = [outbox.marker("live", entry.id), store.marker(entry.id)]
    assert cluster.keyslot(markers[0]) != cluster.keyslot(markers[1])
    assert await cluster.exists(markers[0]) == 1 and await cluster.exists(markers[1]) == 1
    # and the row applied again (the sweep after a lost answer) changes nothing
    second = asyncio.ensure_future(stream.__anext__())
    await outbox._apply_redis([entry])
    assert (await store.members_in("points", "all"))[member.id][0] == 7
    await asyncio.sleep(0.3)
    assert not second.done()  # nothing published again
    second.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await second
    await stream.aclose()
