"""Reconciliation: boards corrupted behind the service's back are repaired to exactly what a
rebuild gives, members with writes in flight are left alone, and concurrent writes on
PostgreSQL never see a correct score "repaired"."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
import pytest_asyncio

from core import clock, outbox, redis
from game.leaderboards import rebuild, reconcile, scoring, store
from rewards.ledger.events import PointsChanged, Reason
from tests import backends
from tests.conftest import Api
from tests.game.factories import UPSERT_BOARD, earn, freeze, members, tick

WINDOWS = ("all", "2026-11-16", "2026-W47", "2026-11")
ALL, DAY, WEEK, MONTH = WINDOWS


@pytest_asyncio.fixture(autouse=True)
async def program_zone() -> None:
    await store.refresh_zone()


async def dump(boards: tuple[str, ...] = ("points",), windows: tuple[str, ...] = WINDOWS) -> Any:
    """Every key of these boards' windows, raw: sorted-set entries and hash fields."""
    client = redis.client()
    return {
        (b, w): (
            await client.zrange(store.zkey(b, w), 0, -1, withscores=True),
            await client.hgetall(store.hkey(b, w)),
        )
        for b in boards
        for w in windows
    }


async def rebuilt(boards: tuple[str, ...] = ("points",), windows: tuple[str, ...] = WINDOWS) -> Any:
    """What a rebuild from the database stores."""
    client = redis.client()
    for b in boards:
        for w in windows:
            await client.delete(store.zkey(b, w), store.hkey(b, w))
    await rebuild.rebuild()
    return await dump(boards, windows)


def tie_of(member_id: int, entries: dict[int, tuple[int, int]]) -> str:
    return scoring.tie(member_id, entries[member_id][1])


async def test_a_corrupted_board_is_repaired_to_what_a_rebuild_gives(api: Api) -> None:
    # given five members on the points board, and an action count board
    freeze()
    a, b, c, d, e = await members(5, "rc")
    for n, m in enumerate((a, b, c, d, e), start=1):
        await earn(api, m.external_id, 10 * n)
        tick(0.3)
    made = await api.admin(
        UPSERT_BOARD, {"i": {"key": "orders", "name": "Orders", "metric": "ACTION_COUNT",
                       "actionType": "order"}},
    )  # fmt: skip
    assert made["upsertLeaderboard"]["errors"] == []
    good = await dump(("points", "orders"))
    client = redis.client()
    everyone = await store.members_in("points", ALL)
    # when the boards are changed behind the service's back
    await client.zincrby(store.zkey("points", ALL), 5, tie_of(a.id, everyone))
    await client.zrem(store.zkey("points", DAY), tie_of(b.id, everyone))
    await client.zadd(store.zkey("points", WEEK), {scoring.tie(c.id, 1): 30})  # a stale tie
    await client.hdel(store.hkey("points", MONTH), str(d.id))
    stray = {scoring.tie(999_999, 5): 70, scoring.tie(4_000_000_000, 5): 1, "oops": 1}
    await client.zadd(store.zkey("points", ALL), stray)
    await client.hset(store.hkey("points", ALL), str(e.id), "not-a-time")
    await client.hset(store.hkey("orders", ALL), "not-a-member", "x")
    await client.zrem(store.zkey("orders", DAY), tie_of(e.id, everyone))
    assert await dump(("points", "orders")) != good
    # and the reconciliation runs (every write relayed and its outbox row deleted)
    await outbox.drain()
    report = await reconcile.reconcile()
    # then it reports each repair where it made it
    assert report.repaired == {
        # a's score, e's hash entry, entries of a member who does not exist, of an id
        # past 32 bits, and "oops"
        ("points", ALL): 5,
        ("points", DAY): 1,  # b, missing
        ("points", WEEK): 1,  # c, under a stale tie besides the right one
        ("points", MONTH): 1,  # d, whose hash entry was gone
        ("orders", ALL): 1,  # a hash field that is no member id
        ("orders", DAY): 1,  # e, missing
    }
    assert report.total == 10 and report.skipped == 0 and report.deferred == 0
    assert "repaired 10 (orders/2026-11-16 1, orders/all 1, points/2026-11 1" in str(report)
    # and the boards are what they were, which is what a rebuild from the database gives
    repaired = await dump(("points", "orders"))
    assert repaired == good
    assert await rebuilt(("points", "orders")) == repaired
    # and a second round finds nothing to do
    again = await reconcile.reconcile()
    assert again.total == 0 and not again and "no drift" in str(again)


async def test_members_with_writes_in_flight_are_skipped_until_they_land(api: Api) -> None:
    # given two members on the board, both corrupted
    freeze()
    a, b = await members(2, "fl")
    await earn(api, a.external_id, 10)
    await earn(api, b.external_id, 20)
    everyone = await store.members_in("points", ALL)
    client = redis.client()
    for m in (a, b):
        await client.zincrby(store.zkey("points", ALL), 1, tie_of(m.id, everyone))
    await outbox.drain()
    # and an outbox row for `a` that is not applied yet (its write committed, its relay not)
    event = PointsChanged(a.id, 10, 0, Reason.ORDER, clock.now())
    row = await outbox.write([event])
    assert row is not None and await outbox.pending(a.id) == 1
    # when the reconciliation runs
    report = await reconcile.reconcile()
    # then `a` is left to the relay, `b` is repaired
    assert report.skipped == 1 and report.repaired == {("points", ALL): 1}
    assert (await store.members_in("points", ALL))[a.id][0] == 11
    assert (await store.members_in("points", ALL))[b.id][0] == 20
    # when the row has been applied (and deleted), the next round repairs `a` too
    await outbox._delete([row.id])
    report = await reconcile.reconcile()
    assert report.skipped == 0 and report.repaired == {("points", ALL): 1}
    assert await dump() == await rebuilt()


async def test_the_job_reconciles_at_start_then_every_few_minutes(api: Api) -> None:
    from server import leaderboard_jobs
    from server.jobs import JOBS

    # given a member's points missing from the board behind the service's back
    freeze()
    (a,) = await members(1, "job")
    await earn(api, a.external_id, 10)
    everyone = await store.members_in("points", ALL)
    await redis.client().zrem(store.zkey("points", ALL), tie_of(a.id, everyone))
    await outbox.drain()
    leaderboard_jobs._reconciled_here = False
    # when the jobs run for the first time in this process: a round at once
    first = await leaderboard_jobs.reconcile_boards()
    # then it repairs the board and says so
    assert isinstance(first, reconcile.ReconcileReport)
    assert first.repaired == {("points", ALL): 1}
    described = JOBS["leaderboards-reconcile"].describe(first)
    assert described.startswith("checked 4 standing(s) in 4 window(s)")
    assert described.endswith("; repaired 1 (points/all 1)")
    # and when they run again within the interval: not due
    assert await leaderboard_jobs.reconcile_boards() is None
    assert JOBS["leaderboards-reconcile"].describe(None) == "not due (every 5 min)"
    # and once the interval has passed (its Redis key expired), another round
    await redis.client().delete(store.meta("due", "reconcile"))
    assert (await leaderboard_jobs.reconcile_boards()).total == 0  # type: ignore[union-attr]


@pytest.mark.skipif(not backends.ON_POSTGRES, reason="races need PostgreSQL")
async def test_concurrent_writes_are_never_repaired(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given relays that reach Redis up to 80 ms after their commit (a slow Redis)
    rng = random.Random(11)
    real_apply = outbox._apply_redis

    async def slow_apply(entries: list[outbox.Entry]) -> None:
        await asyncio.sleep(rng.random() * 0.08)
        await real_apply(entries)

    monkeypatch.setattr(outbox, "_apply_redis", slow_apply)
    # and twenty members on the board, one of them corrupted
    people = await members(20, "race")
    for m in people:
        await earn(api, m.external_id, 1)
    victim = people[0]
    everyone = await store.members_in("points", "all")
    await redis.client().zincrby(store.zkey("points", "all"), 7, tie_of(victim.id, everyone))
    done = asyncio.Event()

    async def writes() -> None:
        try:
            for _ in range(12):
                batch = rng.sample(people, 8)
                await asyncio.gather(*(earn(api, m.external_id, rng.randint(1, 9)) for m in batch))
        finally:
            done.set()

    reports: list[reconcile.ReconcileReport] = []

    async def rounds() -> None:
        while not done.is_set():
            reports.append(await reconcile.reconcile())

    # when orders land for everyone while rounds of reconciliation run
    await asyncio.gather(writes(), rounds())
    await outbox.drain()  # every relay has returned: delete their rows
    assert await outbox.pending() == 0
    reports.append(await reconcile.reconcile())
    # then the only repair ever made is the victim's, in the one window corrupted, once
    repaired: dict[tuple[str, str], int] = {}
    for r in reports:
        for place, n in r.repaired.items():
            repaired[place] = repaired.get(place, 0) + n
    assert repaired == {("points", "all"): 1}, [str(r) for r in reports]
    # and the rounds did meet writes in flight (more suspects than the victim)
    assert sum(r.skipped + r.rechecked for r in reports) > 1, [str(r) for r in reports]
    # and the board is what a rebuild gives
    windows = tuple(w.key for w in store.windows_at(clock.now(), await store.current_zone()))
    assert await dump(windows=windows) == await rebuilt(windows=windows)
