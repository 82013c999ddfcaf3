"""Reconciliation: boards corrupted behind the service's back are repaired to exactly what a
rebuild gives, members with writes in flight are left alone, and concurrent writes on
PostgreSQL never see a correct score "repaired"."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any

import pytest
import pytest_asyncio

from core import clock, outbox, redis
from game.leaderboards import rebuild, reconcile, scoring, sources, store
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


async def earn_in_turn(api: Api, people: Sequence[Any]) -> None:
    """The n-th of `people` earns 10 n points, each 0.3 s after the one before."""
    for n, m in enumerate(people, start=1):
        await earn(api, m.external_id, 10 * n)
        tick(0.3)


async def test_a_corrupted_board_is_repaired_to_what_a_rebuild_gives(api: Api) -> None:
    # given five members on the points board, and an action count board
    freeze()
    a, b, c, d, e = await members(5, "rc")
    await earn_in_turn(api, (a, b, c, d, e))
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


async def custom_boards(api: Api) -> None:
    """A board of every other metric besides points: order counts, order amounts, tier points."""
    for key, metric, action in (
        ("orders", "ACTION_COUNT", "order"),
        ("sales", "ACTION_VALUE", "order"),
        ("tiers", "TIER_POINTS", None),
    ):
        fields = {"key": key, "name": key.title(), "metric": metric}
        made = await api.admin(
            UPSERT_BOARD, {"i": fields | ({"actionType": action} if action else {})}
        )
        assert made["upsertLeaderboard"]["errors"] == []


class Pages:
    """Spies on the round's reads of the database's standings (the real reads run): how many
    standings each page held, and `seen()` at each read."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, seen: Any = lambda: None) -> None:
        self.sizes: list[int] = []
        self.seen: list[Any] = []
        real = sources.page

        async def page(*args: Any) -> Any:
            self.seen.append(seen())
            rows, upto = await real(*args)
            self.sizes.append(len(rows))
            return rows, upto

        monkeypatch.setattr(sources, "page", page)


async def test_drift_is_repaired_across_chunks_of_members(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given ten members on a board of each metric
    freeze()
    people = await members(10, "chunks")
    await custom_boards(api)
    for n, m in enumerate(people, start=1):
        await earn(api, m.external_id, 10 * n)
        tick(0.3)
    boards = ("points", "orders", "sales", "tiers")
    good = await dump(boards)
    # when the first, fifth and last member's scores are changed behind the service's back
    # on every board, in the windows of the week and of all time
    client = redis.client()
    for key in boards:
        for w in (ALL, WEEK):
            everyone = await store.members_in(key, w)
            for m in (people[0], people[4], people[9]):
                await client.zincrby(store.zkey(key, w), 3, tie_of(m.id, everyone))
    await outbox.drain()
    # and the reconciliation compares three members at a time
    pages = Pages(monkeypatch)
    report = await reconcile.reconcile(chunk=3)
    # then it repairs the three in each place, which sit in three different chunks
    assert report.repaired == {(key, w): 3 for key in boards for w in (ALL, WEEK)}
    assert report.checked == 10 * len(boards) * len(WINDOWS)
    assert report.rechecked == 3 and report.skipped == report.deferred == 0
    # and it read the database three standings at a time (4 pages of each window), and
    # scanned no key: every count agreed
    assert max(pages.sizes) == 3 and len(pages.sizes) == 4 * len(boards) * len(WINDOWS)
    assert report.scans == 0
    # and the boards are what they were, what a rebuild gives
    assert await dump(boards) == good
    assert await rebuilt(boards) == good


async def test_strays_are_removed_whether_or_not_the_counts_agree(api: Api) -> None:
    # given five members on the board
    freeze()
    a, b, c, d, e = await members(5, "strays")
    await earn_in_turn(api, (a, b, c, d, e))
    good = await dump()
    everyone = await store.members_in("points", ALL)
    client = redis.client()
    zkey, hkey = store.zkey("points", ALL), store.hkey("points", ALL)
    # when a's entry is swapped for one that is no member's, and b's head for a field that
    # names nobody: the sorted set and the hash still hold five entries, as many as there are
    # standings
    await client.zrem(zkey, tie_of(a.id, everyone))
    await client.zadd(zkey, {"oops": 10})
    await client.hdel(hkey, str(b.id))
    await client.hset(hkey, "007", "x")  # not how an id is written
    assert (await client.zcard(zkey), await client.hlen(hkey)) == (5, 5)
    await outbox.drain()
    report = await reconcile.reconcile(chunk=2)
    # then both keys are scanned, the strays removed and a and b put back
    assert report.scans == 2
    assert report.repaired == {("points", ALL): 4}
    assert await dump() == good
    # when there are more entries than standings (a tie of no member, a field of no id)
    await client.zadd(zkey, {scoring.tie(4_000_000_000, 5): 1})
    await client.hset(hkey, "²", "x")
    report = await reconcile.reconcile(chunk=2)
    # then the same: scanned and removed
    assert report.scans == 2 and report.repaired == {("points", ALL): 2}
    assert await dump() == good
    # and a round over a board in order scans nothing
    again = await reconcile.reconcile(chunk=2)
    assert again.scans == 0 and again.total == 0


async def test_a_member_on_the_board_but_not_in_the_database_is_taken_off(api: Api) -> None:
    # given members a, b, c, then f who never scored, then d, e: f's id lies inside the
    # chunks of two that the round compares
    freeze()
    a, b, c = await members(3, "absent-a")
    (f,) = await members(1, "absent-f")
    d, e = await members(2, "absent-d")
    await earn_in_turn(api, (a, b, c, d, e))
    good = await dump()
    client = redis.client()
    # when f is put on the board of all time by hand, beside the others (ZCARD and HLEN one
    # more than the standings)
    await client.zadd(store.zkey("points", ALL), {scoring.tie(f.id, 5): 70})
    await client.hset(store.hkey("points", ALL), str(f.id), scoring.time_part(5))
    # and on today's board in place of c (as many entries as standings)
    today = await store.members_in("points", DAY)
    await client.zrem(store.zkey("points", DAY), tie_of(c.id, today))
    await client.hdel(store.hkey("points", DAY), str(c.id))
    await client.zadd(store.zkey("points", DAY), {scoring.tie(f.id, 5): 70})
    await client.hset(store.hkey("points", DAY), str(f.id), scoring.time_part(5))
    await outbox.drain()
    report = await reconcile.reconcile(chunk=2)
    # then f is taken off both boards, and c put back on today's
    assert report.repaired == {("points", ALL): 1, ("points", DAY): 2}
    assert report.scans == 4  # both keys of both windows
    assert await dump() == good


async def test_a_paced_round_gives_the_event_loop_turns(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given ten members on the board, one of them corrupted
    freeze()
    people = await members(10, "paced")
    for m in people:
        await earn(api, m.external_id, 5)
    everyone = await store.members_in("points", ALL)
    await redis.client().zincrby(store.zkey("points", ALL), 1, tie_of(people[6].id, everyone))
    await outbox.drain()
    # and a coroutine that counts its turns of the event loop
    turns = 0
    done = asyncio.Event()

    async def counting() -> None:
        nonlocal turns
        while not done.is_set():
            turns += 1
            await asyncio.sleep(0)

    async def paced() -> reconcile.ReconcileReport:
        try:
            return await reconcile.reconcile(chunk=3, pace=reconcile.SERVING_PACE)
        finally:
            done.set()

    pages = Pages(monkeypatch, seen=lambda: turns)
    # when a paced round runs beside it
    _, report = await asyncio.gather(counting(), paced())
    # then the coroutine had turns between every two chunks the round read
    assert len(pages.seen) == 4 * len(WINDOWS)
    assert all(x < y for x, y in zip(pages.seen, pages.seen[1:], strict=False)), pages.seen
    # and the round paused, and still repaired the board
    assert report.paused > 0 and "of it paused" in str(report)
    assert report.repaired == {("points", ALL): 1}
    assert await dump() == await rebuilt()
    # and a round that is not paced does not pause
    again = await reconcile.reconcile(chunk=3)
    assert again.paused == 0 and "paused" not in str(again)


async def test_the_job_paces_rounds_in_a_serving_process_and_keeps_its_lock(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server import leaderboard_jobs

    # given a member on the board, a process that serves requests, and a lock renewed at
    # every step (in place of once a minute)
    freeze()
    (a,) = await members(1, "lock")
    await earn(api, a.external_id, 10)
    await outbox.drain()
    monkeypatch.setattr(leaderboard_jobs, "_pace", 0.0)
    monkeypatch.setattr(leaderboard_jobs, "_reconciled_here", False)
    monkeypatch.setattr(leaderboard_jobs, "_round", None)
    monkeypatch.setattr(reconcile, "RENEW_SECONDS", 0.0)
    leaderboard_jobs.serving()
    renewed: list[int] = []
    real_keep = store.keep_lock

    async def keep(name: str, ms: int) -> None:
        await real_keep(name, ms)
        renewed.append(await redis.client().pttl(store.meta("lock", name)))

    monkeypatch.setattr(store, "keep_lock", keep)
    # when the job starts a round, and the jobs loop asks again while it runs
    started = await leaderboard_jobs.reconcile_boards()
    again = await leaderboard_jobs.reconcile_boards()
    report = await leaderboard_jobs.round_in_background()
    # then the round ran beside the jobs loop (which did not wait, nor start a second one)
    assert started == "a round started beside the requests; its report is logged when it ends"
    assert again == "a round is still running beside the requests"
    # and it was paced, and the lock it held was renewed to LOCK_MS as it went
    assert isinstance(report, reconcile.ReconcileReport) and report.paused > 0
    assert renewed and all(reconcile.LOCK_MS - 5000 < ms <= reconcile.LOCK_MS for ms in renewed)
    # and released at its end
    assert not await redis.client().exists(store.meta("lock", "reconcile"))
