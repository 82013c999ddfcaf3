"""One trackAction costs the same SQL whatever the number of missions, and one Redis trip."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio.client import Pipeline, Redis

from tests import backends, factories
from tests.conftest import Api
from tests.game import factories as game
from tests.statements import counting


@pytest.fixture
def redis_trips(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts pipelines sent and single commands sent (the real calls still happen); the
    request's rate-limit check (one EVALSHA before it runs) is counted apart."""
    counts = {"pipelines": 0, "commands": 0, "rate_limits": 0}
    real_execute, real_command = Pipeline.execute, Redis.execute_command

    async def execute(self: Pipeline, *args: Any, **kwargs: Any) -> Any:
        counts["pipelines"] += 1
        return await real_execute(self, *args, **kwargs)

    async def command(self: Redis, *args: Any, **kwargs: Any) -> Any:
        is_rate_limit = args[:1] == ("EVALSHA",) and ":rl:{" in str(args[3:4])
        counts["rate_limits" if is_rate_limit else "commands"] += 1
        return await real_command(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "execute", execute)
    monkeypatch.setattr(Redis, "execute_command", command)
    return counts


async def _statements_per_action(api: Api, missions: int) -> int:
    await game.action_type(api, f"a{missions}.done", points=3)
    for n in range(missions):
        measure = ("COUNT", "SUM", "STREAK_DAYS")[n % 3]
        await game.mission(
            api, title=f"m{n}", actionType=f"a{missions}.done", measure=measure, target=10**6
        )
    member = await factories.member()
    await game.track(api, member, f"a{missions}.done")  # creates the progress rows
    with counting() as statements:
        moved = await game.track(api, member, f"a{missions}.done")
    assert len(moved["missions"]) == missions - missions // 3  # streaks move once a day
    return statements.count


async def test_sql_per_action_does_not_grow_with_the_number_of_missions(api: Api) -> None:
    # given one action type with one mission, and another with fifty (a third of them streaks)
    # when a member's action of each is tracked
    one = await _statements_per_action(api, 1)
    fifty = await _statements_per_action(api, 50)
    # then both cost the same statements: the lock (which also reads the missions' progress
    # rows), then one statement on PostgreSQL: the balances and the draw on the budget,
    # progress, postings, lots, the action, the member's state, the outbox row. SQLite runs
    # those one by one, in-process.
    assert 0 < fifty == one <= (2 if backends.ON_POSTGRES else 9)


async def _statements_completing(api: Api, completing: int) -> int:
    # given 50 missions on an action type, `completing` of which complete on a member's
    # second action (each paying 5 points and writing its "mission completed" message)
    kind = f"visit{completing}"
    await game.action_type(api, kind, points=3)
    for n in range(50):
        target = 2 if n < completing else 10**6
        await game.mission(api, title=f"m{n}", actionType=kind, target=target, reward={"points": 5})
    member = await factories.member()
    await game.track(api, member, kind)
    # when the second action completes them
    with counting() as statements:
        done = await game.track(api, member, kind)
    assert sum(1 for m in done["missions"] if m["completed"]) == completing
    return statements.count


async def test_completing_missions_with_rewards_and_messages_costs_a_fixed_few_more(
    api: Api,
) -> None:
    # given 50 missions on each of two action types, one or ten of them about to complete
    # when a member's action completes them
    one = await _statements_completing(api, 1)
    ten = await _statements_completing(api, 10)
    # then completing ten costs what completing one does: the lock (which also read the
    # member's name for the messages' words), the inbox rows (their ids go out live) and
    # their deliveries; then one statement on PostgreSQL for the rest
    assert 0 < ten == one <= (4 if backends.ON_POSTGRES else 10)


async def test_an_order_is_two_statements_on_postgresql(api: Api) -> None:
    # given a member (no mission counts orders)
    member = await factories.member()
    record = """mutation($i: RecordOrderInput!) { recordOrder(input: $i) {
      pointsEarned errors { code } } }"""
    await api.integration(
        record,
        {"i": {"orderId": "warm", "memberExternalId": member.external_id, "amount": "100000"}},
    )
    # when an order is recorded
    with counting() as statements:
        done = await api.integration(
            record,
            {"i": {"orderId": "HD-1", "memberExternalId": member.external_id, "amount": "250000"}},
        )
    assert done["recordOrder"] == {"pointsEarned": 12, "errors": []}
    # then: the lock, and the order, the balances and the draw on the budget, tier points,
    # action, postings, lots, state and outbox row in one statement (SQLite: one by one)
    assert 0 < statements.count <= (2 if backends.ON_POSTGRES else 10)


async def test_one_action_is_one_redis_round_trip(api: Api, redis_trips: dict[str, int]) -> None:
    # given 20 missions that move (MissionProgressed x20), points and a full stamp card
    # (PointsChanged x2, BadgeAwarded), and the leaderboards count it (ActionTracked).
    # (Completed missions also raise MissionCompleted, whose notification is engage's own
    # follow-up transaction, so they are left out here.)
    await game.action_type(api, "review.posted", points=10)
    await game.badge(api, "reviewer")
    for n in range(20):
        await game.mission(api, title=f"m{n}", target=100)
    card = {
        "name": "One review",
        "actionType": "review.posted",
        "slots": 1,
        "reward": {"points": 1, "badgeCode": "reviewer"},
    }
    created = await api.admin(
        "mutation($i: StampCardInput!) { createStampCard(input: $i) { errors { code } } }",
        {"i": card},
    )
    assert created["createStampCard"]["errors"] == []
    member = await factories.member()
    redis_trips.update(pipelines=0, commands=0, rate_limits=0)
    # when a member's action is tracked
    payload = await game.track(api, member)
    assert len(payload["missions"]) == 20 and payload["badgesAwarded"]
    # then it is one Redis pipeline (and the rate limit's one command)
    assert redis_trips == {"pipelines": 1, "commands": 0, "rate_limits": 1}


BATCH = """mutation($i: [TrackActionInput!]!) { trackActions(inputs: $i) {
  results { pointsAwarded duplicate errors { code } } errors { code } } }"""


async def _statements_per_batch(api: Api, size: int, tag: str) -> int:
    members = [await factories.member() for _ in range(size)]
    for run in ("warm", "measured"):  # the first creates the progress rows
        inputs = [
            {"memberExternalId": m.external_id, "type": "b.done", "idempotencyKey": f"{tag}-{run}"}
            for m in members
        ]
        with counting() as statements:
            done = await api.integration(BATCH, {"i": inputs})
        assert [r["pointsAwarded"] for r in done["trackActions"]["results"]] == [3] * size
    return statements.count


async def test_sql_per_batch_does_not_grow_with_its_size_on_postgresql(api: Api) -> None:
    # given an action type with 20 live missions
    await game.action_type(api, "b.done", points=3)
    for n in range(20):
        await game.mission(api, title=f"m{n}", actionType="b.done", target=10**6)
    # when batches of 10 and of 40 actions of different members are tracked
    ten = await _statements_per_batch(api, 10, "ten")
    forty = await _statements_per_batch(api, 40, "forty")
    if backends.ON_POSTGRES:
        # then the members' locks (each with its peeks) are one statement, the issuance
        # shards their points come from are locked in order by another, and the batch's
        # writes and its outbox row are a third, whatever the batch's size
        assert forty == ten == 3
    else:
        # SQLite locks member by member (in-process): one statement per action more
        assert forty - ten == 30 and ten <= 10 + 8
