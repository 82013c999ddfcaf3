"""Leaderboards through the API: fair ties, around me, windows, hidden members, rebuild."""

from __future__ import annotations

import asyncio
import random

import pytest_asyncio

from core import redis
from game.leaderboards import rebuild, scoring, store
from tests.conftest import ADMIN_KEY, Api
from tests.factories import token_for
from tests.game.factories import (
    HIDE,
    UPSERT_BOARD,
    action_type,
    board,
    earn,
    freeze,
    members,
    ranking,
    tick,
    track,
)
from tests.rewards.ledger_api import redeem, refund


@pytest_asyncio.fixture(autouse=True)
async def program_zone() -> None:
    """The after-commit step uses the zone as last loaded (up to ZONE_TTL old); each test's
    program is fresh, so load it as a running server would have by now."""
    await store.refresh_zone()


async def _wipe_boards() -> None:
    """What a Redis that lost its data looks like to us: only this run's keys go."""
    client = redis.client()
    keys = [k async for k in client.scan_iter(match=redis.key("*"), count=1000)]
    if keys:
        await client.delete(*keys)


async def test_ties_order_by_score_then_earliest_millisecond_then_lower_id() -> None:
    # given standings at the bounds of the budget: scores past 2**31 and up to 2**53 - 1,
    # times 1 ms apart and equal, ids from 1 to 2**31 - 1
    cases = [  # (score, reached ms, member id)
        (5, 100, 7),
        (5, 99, 8),
        (5, 99, 3),
        (5, 100, 2**31 - 1),
        (7, 0, 1),
        (-3, 10, 4),
        (2**31, 5, 9),
        (2**31 + 1, 5, 10),
        (-(2**31), 5, 11),
        (scoring.SCORE_MAX, 0, 12),
        (scoring.SCORE_MAX, scoring.TIME_MAX, 13),
        (scoring.SCORE_MIN, scoring.TIME_MAX, 14),
    ]
    client = redis.client()
    key = store.zkey("order-test", "all")
    # when they are stored in a sorted set as the service stores them
    await client.zadd(key, {scoring.tie(m, t): s for s, t, m in cases})
    # then Redis reads them back exactly, best first: score desc, reached asc, id asc
    read = await client.zrevrange(key, 0, -1, withscores=True)
    assert [(scoring.score_of(s), *reversed(scoring.unpack_tie(tie))) for tie, s in read] == [
        (s, t, m) for s, t, m in sorted(cases, key=lambda c: (-c[0], c[1], c[2]))
    ]


def test_reached_times_are_whole_milliseconds_from_the_same_instant() -> None:
    from datetime import datetime, timedelta

    # given an instant 700 days after the epoch, plus 999 microseconds
    base = scoring.EPOCH + timedelta(days=700, microseconds=999)
    # when it is turned into milliseconds and a tie-breaker
    # then the microseconds are dropped, whole milliseconds kept, and later sorts first
    assert scoring.millis(base) == 700 * 86_400_000
    assert scoring.millis(base + timedelta(microseconds=1)) == 700 * 86_400_000 + 1
    assert scoring.millis(datetime(2020, 1, 1, tzinfo=scoring.EPOCH.tzinfo)) == 0
    assert scoring.time_part(0) == "fffffffffff" and scoring.tie(1, 0).endswith("fffffffe")


async def test_thirty_members_rank_by_score_then_who_reached_it_first(
    api: Api, settings: object
) -> None:
    # given 30 members whose scores tie in groups, reached in a shuffled order a second apart
    freeze()
    people = await members(30)
    rng = random.Random(6)
    targets = {m.external_id: 10 * (i % 7 + 1) for i, m in enumerate(people)}
    reached: dict[str, int] = {}
    order = list(people)
    rng.shuffle(order)
    for step, m in enumerate(order):
        # two orders each, so the "reached" time is that of the second
        first_part = rng.randint(1, targets[m.external_id] - 1)
        await earn(api, m.external_id, first_part)
        tick()
        await earn(api, m.external_id, targets[m.external_id] - first_part)
        reached[str(m.id)] = step
        tick()
    # when the board is read
    top = await board(api, first=30)
    # then ranks follow (score desc, time reached asc), unique and 1-based
    expected = sorted(
        ((targets[m.external_id], reached[str(m.id)], str(m.id)) for m in people),
        key=lambda x: (-x[0], x[1]),
    )
    assert ranking(top["entries"]) == [
        (rank, float(score), mid) for rank, (score, _, mid) in enumerate(expected, start=1)
    ]
    assert top["participants"] == 30 and top["periodKey"] == "all"
    # and the 15th sees ranks 13-17 around them, and themselves as `me`
    fifteenth = next(m for m in people if str(m.id) == expected[14][2])
    mine = await board(api, token=token_for(fifteenth, settings), first=3)  # type: ignore[arg-type]
    assert mine["me"]["rank"] == 15 and mine["me"]["member"]["id"] == str(fifteenth.id)
    assert [e["rank"] for e in mine["aroundMe"]] == [13, 14, 15, 16, 17]
    assert ranking(mine["aroundMe"]) == ranking(top["entries"][12:17])
    # and the same query with another radius in its variables reads that radius
    token = token_for(fifteenth, settings)  # type: ignore[arg-type]
    for radius, ranks in ((1, [14, 15, 16]), (0, [15]), (3, list(range(12, 19)))):
        around = (await board(api, token=token, first=3, radius=radius))["aroundMe"]
        assert [e["rank"] for e in around] == ranks
    # and every window agrees today (all orders fell in this day, week and month)
    for period in ("DAILY", "WEEKLY", "MONTHLY"):
        assert ranking((await board(api, period=period, first=30))["entries"]) == ranking(
            top["entries"]
        )
    # when Redis loses everything and the boards are rebuilt from the database
    answers = {
        p: await board(api, period=p, first=30) for p in ("ALL_TIME", "DAILY", "WEEKLY", "MONTHLY")
    }
    await _wipe_boards()
    await rebuild.rebuild()
    # then every answer is identical: ranking, scores and tie order
    for period, before in answers.items():
        assert await board(api, period=period, first=30) == before


async def test_ties_within_a_second_go_to_the_first_then_the_lower_id(api: Api) -> None:
    # given four members who reach 10 points within the same second: the member with the
    # highest id first, then one a millisecond later, then two in the same millisecond
    freeze()
    a, b, c, d = await members(4, "ms")
    tick(0.0004)  # 05:00:00.0004: every order below lands inside second 05:00:00
    await earn(api, d.external_id, 10)
    tick(0.001)
    await earn(api, a.external_id, 10)
    tick(0.0005)
    await earn(api, c.external_id, 10)
    await earn(api, b.external_id, 10)
    # when the board is read
    top = await board(api)
    # then the first to reach it ranks first, to the millisecond, then the lower id
    assert ranking(top["entries"]) == [
        (1, 10.0, str(d.id)),
        (2, 10.0, str(a.id)),
        (3, 10.0, str(b.id)),
        (4, 10.0, str(c.id)),
    ]
    # and a rebuild from the database stores exactly the same standings, times included
    windows = ("all", "2026-11-16", "2026-W47", "2026-11")
    before = {w: await store.members_in("points", w) for w in windows}
    assert before["all"][d.id][1] + 1 == before["all"][a.id][1] == before["all"][b.id][1]
    await _wipe_boards()
    await rebuild.rebuild()
    assert {w: await store.members_in("points", w) for w in windows} == before
    assert await board(api) == top


async def test_action_value_boards_of_vnd_amounts_hold_billions_exactly(api: Api) -> None:
    # given a board of order amounts (the built-in `order` action) and orders of billions
    freeze()
    a, b = await members(2, "vnd")
    made = await api.admin(
        UPSERT_BOARD,
        {"i": {"key": "sales", "name": "Sales", "metric": "ACTION_VALUE", "actionType": "order"}},
    )
    assert made["upsertLeaderboard"]["errors"] == []
    for _ in range(3):
        await earn(api, a.external_id, 75_000)  # 1,500,000,000 VND each
        tick(0.25)
    await earn(api, b.external_id, 5)  # 100,000 VND
    # when the board is read
    top = await board(api, "sales")
    # then the scores are exact far past 2**31 (and past the old bound of 4,194,303)
    assert [(e["member"]["id"], e["score"]) for e in top["entries"]] == [
        (str(a.id), 4_500_000_000),
        (str(b.id), 100_000),
    ]
    # and a rebuild agrees to the unit and the millisecond
    before = await store.members_in("sales", "all")
    await _wipe_boards()
    await rebuild.rebuild()
    assert await store.members_in("sales", "all") == before
    assert await board(api, "sales") == top


async def test_spending_leaves_points_board_and_refund_lowers_it(api: Api) -> None:
    # given two members who earned 100 and 60 points
    freeze()
    a, b = await members(2, "spend")
    order_a = await earn(api, a.external_id, 100)
    tick()
    await earn(api, b.external_id, 60)
    before = await board(api)
    # when the first redeems 90 points
    assert (await redeem(api, a.external_id, 90, "spend-1"))["errors"] == []
    # then the points board is unchanged
    assert await board(api) == before
    assert [e["score"] for e in before["entries"]] == [100, 60]
    # when half of the first member's order is refunded
    tick()
    result = await refund(api, order_a, "spend-r1", 50 * 20_000)
    assert result["errors"] == [] and result["pointsReversed"] == 50
    # then their score drops by the points reversed, and the ranks follow
    after = await board(api)
    assert ranking(after["entries"]) == [(1, 60.0, str(b.id)), (2, 50.0, str(a.id))]
    # and a rebuild agrees
    await _wipe_boards()
    await rebuild.rebuild()
    assert await board(api) == after


async def test_windows_count_only_their_own_day_week_and_month(api: Api) -> None:
    # given an order last month, one last week, one yesterday and one today
    freeze()
    (m,) = await members(1, "win")
    from datetime import timedelta

    from core import clock

    now = clock.now()
    for days_ago, pts in ((31, 1), (7, 2), (1, 4), (0, 8)):
        clock.freeze(now - timedelta(days=days_ago))
        await earn(api, m.external_id, pts)
    clock.freeze(now)
    # when each window is read
    scores = {p: (await board(api, period=p)) for p in ("ALL_TIME", "DAILY", "WEEKLY", "MONTHLY")}
    # then each counts only what fell inside it, in the program's zone
    assert {p: b["entries"][0]["score"] for p, b in scores.items()} == {
        "ALL_TIME": 15,
        "DAILY": 8,
        "WEEKLY": 8,  # a Monday: last week's and yesterday's (Sunday) are outside
        "MONTHLY": 14,
    }
    assert scores["DAILY"]["periodKey"] == "2026-11-16"
    assert scores["WEEKLY"]["periodKey"] == "2026-W47"
    assert scores["MONTHLY"]["periodKey"] == "2026-11"
    # and window keys expire after their window closes, ALL_TIME never
    client = redis.client()
    assert await client.ttl(store.zkey("points", "all")) == -1
    assert 0 < await client.ttl(store.zkey("points", "2026-11-16")) <= 3 * 86400


async def test_hidden_member_ranks_anonymously(api: Api, settings: object) -> None:
    # given two members on the board, the leader hides
    freeze()
    a, b = await members(2, "hide")
    await earn(api, a.external_id, 30)
    await earn(api, b.external_id, 20)
    token = token_for(a, settings)  # type: ignore[arg-type]
    result = (await api(HIDE, {"h": True}, token=token))["setLeaderboardHidden"]
    assert result["member"]["leaderboardHidden"] is True
    # when anyone reads the board
    top = await board(api)
    # then the leader still ranks first, with no name or id that leads back to them
    first, second = top["entries"]
    assert (first["rank"], first["score"]) == (1, 30)
    assert first["member"]["displayName"] == "Anonymous"
    # the id is made from the rank alone
    assert first["member"]["id"] == "anonymous-1" and a.external_id not in str(first)
    assert second["member"] == {"id": str(b.id), "displayName": "Player 2", "tierCode": None}
    # and they still find themselves through `me`
    assert (await board(api, token=token))["me"]["rank"] == 1


async def test_unknown_board_and_oversized_first_are_refused(api: Api) -> None:
    # given only the built-in points board
    # when an unknown board, more than 100 entries or a radius over 50 is asked for
    body = await api.raw('{ leaderboard(key: "nope") { key } }', token=ADMIN_KEY)
    # then each is refused, naming the argument
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    body = await api.raw(
        '{ leaderboard(key: "points", first: 101) { key } }', token="test-admin-key"
    )
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert body["errors"][0]["extensions"]["field"] == ["first"]
    assert (await board(api, first=100))["entries"] == []
    body = await api.raw(
        '{ leaderboard(key: "points") { aroundMe(radius: 51) { rank } } }', token=ADMIN_KEY
    )
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert body["errors"][0]["extensions"]["field"] == ["radius"]
    # and a staff caller has no `me` on a board
    staff = await board(api)
    assert staff["me"] is None and staff["aroundMe"] == []


async def test_admin_boards_of_actions_count_history_and_validate(api: Api) -> None:
    # given reviews tracked before any board counts them
    freeze()
    await action_type(api, "review.posted", points=5)
    a, b = await members(2, "act")
    for m, n in ((a, 1), (b, 3)):
        for _ in range(n):
            assert (await track(api, m, value=2.5))["errors"] == []
            tick()
    # when admins add a count board and a value board of reviews
    for key, metric in (("reviews", "ACTION_COUNT"), ("review-value", "ACTION_VALUE")):
        made = (
            await api.admin(
                UPSERT_BOARD,
                {"i": {"key": key, "name": key, "metric": metric, "actionType": "review.posted"}},
            )
        )["upsertLeaderboard"]
        assert made["errors"] == [] and made["leaderboard"]["metric"] == metric
    # then they start from history, and new actions move them live
    assert [e["score"] for e in (await board(api, "reviews"))["entries"]] == [3, 1]
    assert [e["score"] for e in (await board(api, "review-value"))["entries"]] == [9, 3]
    await track(api, a, value=1)
    assert [(e["member"]["id"], e["score"]) for e in (await board(api, "reviews"))["entries"]] == [
        (str(b.id), 3),
        (str(a.id), 2),
    ]
    listed = (await api.admin("{ leaderboards { key metric actionType } }"))["leaderboards"]
    assert [x["key"] for x in listed] == ["points", "reviews", "review-value"]
    # and bad definitions name their field and change nothing
    bad = {
        "actionType": {"key": "x", "name": "X", "metric": "ACTION_COUNT"},
        "key": {"key": "Bad Key!", "name": "X", "metric": "TIER_POINTS"},
        "metric": {"key": "points", "name": "X", "metric": "TIER_POINTS"},
    }
    for field, value in bad.items():
        errors = (await api.admin(UPSERT_BOARD, {"i": value}))["upsertLeaderboard"]["errors"]
        assert errors[0]["code"] == "INVALID_INPUT" and errors[0]["field"] == ["input", field]
    unknown = {"key": "y", "name": "Y", "metric": "ACTION_VALUE", "actionType": "nope"}
    errors = (await api.admin(UPSERT_BOARD, {"i": unknown}))["upsertLeaderboard"]["errors"]
    assert errors[0]["field"] == ["input", "actionType"]
    assert len((await api.admin("{ leaderboards { key } }"))["leaderboards"]) == 3


async def test_tier_points_board_follows_orders(api: Api) -> None:
    # given a board of tier points, and two members
    freeze()
    a, b = await members(2, "tier")
    made = await api.admin(
        UPSERT_BOARD, {"i": {"key": "tiers", "name": "Tiers", "metric": "TIER_POINTS"}}
    )
    assert made["upsertLeaderboard"]["errors"] == []
    # when they earn 10 and 25 tier points
    await earn(api, a.external_id, 10)
    tick()
    await earn(api, b.external_id, 25)
    # then the board ranks them by it, and a rebuild agrees
    top = await board(api, "tiers")
    assert [(e["member"]["id"], e["score"]) for e in top["entries"]] == [
        (str(b.id), 25),
        (str(a.id), 10),
    ]
    await _wipe_boards()
    await rebuild.rebuild()
    assert await board(api, "tiers") == top


async def test_live_snapshots_follow_changes_and_hidden_members(api: Api, settings: object) -> None:
    # given a watcher of the points board with one member on it
    from game.leaderboards.live import live
    from game.leaderboards.windows import Period

    a, b = await members(2, "live")
    await earn(api, a.external_id, 10)
    updates = live.updates("points", Period.ALL_TIME, 10)
    first = await asyncio.wait_for(anext(updates), 5)
    assert [(e["memberId"], e["score"]) for e in first["entries"]] == [(a.id, 10)]
    try:
        # when a burst of orders lands
        for _ in range(5):
            await earn(api, b.external_id, 3)
        # then a snapshot with the final standings follows within a second
        started = asyncio.get_running_loop().time()
        while True:
            snap = await asyncio.wait_for(anext(updates), 1.0)
            if [(e["memberId"], e["score"]) for e in snap["entries"]] == [(b.id, 15), (a.id, 10)]:
                break
        assert asyncio.get_running_loop().time() - started < 1.0
        # when the leader hides, the next snapshot shows them anonymously
        token = token_for(b, settings)  # type: ignore[arg-type]
        await api(HIDE, {"h": True}, token=token)
        snap = await asyncio.wait_for(anext(updates), 1.0)
        assert snap["entries"][0]["member"] == {
            "id": "anonymous-1",
            "displayName": "Anonymous",
            "tierCode": None,
        }
    finally:
        await updates.aclose()
