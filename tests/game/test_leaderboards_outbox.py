"""The outbox part "leaderboards" counts each row once: applied twice (a retried relay, then
the sweep) it changes nothing, and a real Redis stall that makes the client send the script
again never doubles an increment."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from core import clock, outbox, redis
from game.leaderboards import store
from game.leaderboards.store import Change
from tests.conftest import Api
from tests.game.factories import earn, freeze, members
from tests.server.processes import OwnRedis

WINDOWS = ("all", "2026-11-16", "2026-W47", "2026-11")


@pytest_asyncio.fixture(autouse=True)
async def program_zone() -> None:
    await store.refresh_zone()


async def dump() -> dict[str, Any]:
    client = redis.client()
    return {
        w: (
            await client.zrange(store.zkey("points", w), 0, -1, withscores=True),
            await client.hgetall(store.hkey("points", w)),
        )
        for w in WINDOWS
    }


@pytest.fixture
def relayed(monkeypatch: pytest.MonkeyPatch) -> list[outbox.Entry]:
    """The outbox rows this process relays (the real relay still runs)."""
    seen: list[outbox.Entry] = []
    real = outbox.relay

    async def keep(entry: outbox.Entry) -> bool:
        seen.append(entry)
        return await real(entry)

    monkeypatch.setattr(outbox, "relay", keep)
    return seen


async def test_a_row_applied_again_changes_nothing(api: Api, relayed: list[outbox.Entry]) -> None:
    # given an order whose outbox row was relayed: 10 points on the board
    freeze()
    (a,) = await members(1, "again")
    await earn(api, a.external_id, 10)
    [entry] = [e for e in relayed if "leaderboards" in e.payload]
    before = await dump()
    for w in WINDOWS:
        assert (await store.members_in("points", w))[a.id][0] == 10
    # when the same row is applied again: by a retried relay, and by the sweep from the
    # payload as stored in the table
    await outbox._apply_redis([entry])
    stored = outbox.Entry(entry.id, json.loads(json.dumps(entry.payload)))
    await outbox._apply_redis([stored])
    assert await outbox.relay(stored)
    # then the boards are unchanged
    assert await dump() == before
    # and the same changes WITHOUT the row's marker would have counted again
    args = entry.payload["leaderboards"]
    await redis.client().eval(store.UPDATE_LUA, 1, store.meta("defs"), *args)
    assert (await store.members_in("points", "all"))[a.id][0] == 20


@pytest_asyncio.fixture
async def stalling_redis() -> AsyncIterator[OwnRedis]:
    """This process's Redis swapped for one of the test's own that accepts DEBUG SLEEP."""
    server = OwnRedis("--enable-debug-command", "yes")
    client = redis.connect(server.url, **redis.options())
    previous = redis.use(client)
    try:
        yield server
    finally:
        redis.use(previous)  # type: ignore[arg-type]
        await client.aclose()
        server.stop()


async def _stall(url: str, seconds: int) -> asyncio.Task[Any]:
    """Redis stops answering for `seconds` (from now, give or take 0.1 s)."""
    sleeper = redis.connect(url, socket_timeout=seconds + 5)

    async def sleep() -> Any:
        try:
            return await sleeper.execute_command("DEBUG", "SLEEP", str(seconds))
        finally:
            await sleeper.aclose()

    task = asyncio.create_task(sleep())
    await asyncio.sleep(0.1)
    return task


async def test_a_redis_stall_during_the_relay_never_doubles(
    api: Api, stalling_redis: OwnRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a member, and a Redis that stalls for 3 s just as a relay sends its scripts
    # (longer than the client's 2 s timeout: the client gives up and sends them again)
    freeze()
    (a,) = await members(1, "stall")
    stalls: list[asyncio.Task[Any]] = []
    real = outbox._apply_redis

    async def stalled(entries: list[outbox.Entry]) -> None:
        if not stalls:
            stalls.append(await _stall(stalling_redis.url, 3))
        await real(entries)

    monkeypatch.setattr(outbox, "_apply_redis", stalled)
    # when an order worth 10 points is recorded
    started = time.monotonic()
    await earn(api, a.external_id, 10)
    waited = time.monotonic() - started
    await stalls[0]
    # then its relay waited out the stall (it timed out once and was sent again) ...
    assert waited > 2.5, waited
    # ... and every window counts the 10 points once
    for w in WINDOWS:
        assert (await store.members_in("points", w))[a.id][0] == 10
    # while the same stall doubles a change sent without a marker: the retry is real
    monkeypatch.setattr(outbox, "_apply_redis", real)
    stall = await _stall(stalling_redis.url, 3)
    await store.apply([Change("P", a.id, delta=5, at=clock.now())])
    await stall
    assert (await store.members_in("points", "all"))[a.id][0] == 20


async def test_what_the_layout_before_hash_tags_left_is_ignored_then_deleted() -> None:
    from game.leaderboards import rebuild

    # given keys of the old layout, and an outbox row written by the old code
    client = redis.client()
    await client.zadd(redis.key("lbz", "points", "all"), {"5": 2**31})
    await client.hset(redis.key("lbmeta", "defs"), "points", "POINTS_EARNED|")
    await client.set(redis.key("ob", "lb", 3), "1")
    old = [redis.key("lbz"), redis.key("lbmeta"), redis.key("ch", "lbdirty"), "250"]
    old += ["2026-11-16", "2026-W47", "2026-11", "P", "5", "10", "0", "60", ""] + [""] * 6
    # when the row is relayed
    assert await outbox.relay(outbox.Entry(3, {"leaderboards": old}))
    # then it changes nothing (its effect is in the rebuilt boards)
    assert await store.members_in("points", "all") == {}
    # and when a process finds the boards missing, it rebuilds them and drops the old keys
    assert await rebuild.ensure_built()
    legacy = [redis.key("lbz", "*"), redis.key("lbmeta", "*"), redis.key("ob", "lb", "*")]
    assert [k for p in legacy async for k in client.scan_iter(match=p)] == []
