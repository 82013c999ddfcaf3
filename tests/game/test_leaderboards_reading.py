"""The leaderboard query at a fixed cost: the same SQL and one Redis round trip whatever the
number of entries; tier statuses only when tierCode is asked; scores sent as integers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from redis.asyncio.client import Redis
from redis.asyncio.cluster import RedisCluster

from core import clock
from game.leaderboards import store
from game.leaderboards.store import Change
from tests import factories
from tests.conftest import Api
from tests.factories import token_for
from tests.game.factories import freeze
from tests.statements import Statements, counting

QUERY = """query($f: Int!) { leaderboard(key: "points", first: $f) {
  entries { rank score member { displayName } } me { rank } aroundMe(radius: 2) { rank score }
} }"""
WITH_TIERS = """query($f: Int!) { leaderboard(key: "points", first: $f) {
  entries { rank member { ... on PublicMember { tierCode } } } } }"""


@pytest.fixture
def sql() -> Iterator[Statements]:
    with counting() as found:
        yield found


@pytest.fixture
def redis_commands(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Redis commands sent (the real ones still run), but the request's rate-limit check."""
    sent: list[str] = []
    for cls in (Redis, RedisCluster):
        real = cls.execute_command

        def spy(self: Any, *args: Any, _real: Any = real, **kwargs: Any) -> Any:
            if not (args[:1] == ("EVALSHA",) and ":rl:{" in str(args[3:4])):
                sent.append(str(args[0]))
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(cls, "execute_command", spy)
    return sent


async def _board_of(n: int) -> list[Any]:
    """n members on the points board, scores n..1."""
    people = [await factories.member(display_name=f"Player {i}") for i in range(n)]
    await store.refresh_zone()
    await store.apply(
        [Change("P", m.id, delta=n - i, at=clock.now()) for i, m in enumerate(people)]
    )
    return people


async def _read(
    api: Api, token: str, first: int, sql: Statements, sent: list[str], query: str = QUERY
) -> tuple[int, list[str], dict[str, Any]]:
    """One query: its SQL statements, Redis commands and answer."""
    sql.texts.clear()
    sent.clear()
    data = (await api(query, {"f": first}, token=token))["leaderboard"]
    return len(sql.texts), list(sent), data


async def test_the_query_costs_the_same_at_10_and_100_entries(
    api: Api, settings: Any, sql: Statements, redis_commands: list[str]
) -> None:
    # given 100 members on the board and one in the middle (rank 50) reading it
    freeze()
    people = await _board_of(100)
    token = token_for(people[49], settings)
    await api(QUERY, {"f": 1}, token=token)  # warm: definitions, zone, script loaded
    # when they read the top 10, then the top 100, with `me` and `aroundMe`
    ten, ten_redis, top10 = await _read(api, token, 10, sql, redis_commands)
    statements = list(sql.texts)
    hundred, hundred_redis, top100 = await _read(api, token, 100, sql, redis_commands)
    # then both answer in full
    assert [len(top10["entries"]), len(top100["entries"])] == [10, 100]
    assert top10["me"] == top100["me"] == {"rank": 50}
    assert [e["rank"] for e in top100["aroundMe"]] == [48, 49, 50, 51, 52]
    # and cost the same: one statement (the public faces of every entry, `me` and around
    # me at once) and ONE Redis round trip for the board
    assert ten == hundred == 1, (statements, sql.texts)
    assert "leaderboard_hidden" in statements[0] and "tier" not in statements[0]
    assert ten_redis == hundred_redis == ["EVALSHA"]
    # and scores are JSON integers (the contract's Float, whole numbers)
    scores = [e["score"] for e in top100["entries"] + top100["aroundMe"]]
    assert scores[:3] == [100, 99, 98] and all(type(s) is int for s in scores)


async def test_tier_codes_are_loaded_only_when_asked(
    api: Api, settings: Any, sql: Statements, redis_commands: list[str]
) -> None:
    # given a board of five members, one of them reading it
    freeze()
    people = await _board_of(5)
    token = token_for(people[0], settings)
    await api(QUERY, {"f": 1}, token=token)
    # when the board is read without tier codes, then with them
    plain, _, _ = await _read(api, token, 5, sql, redis_commands)
    asked, _, data = await _read(api, token, 5, sql, redis_commands, WITH_TIERS)
    # then only the second reads the tier statuses
    assert asked > plain  # the tier statuses, since tierCode was asked for
    assert [e["member"]["tierCode"] for e in data["entries"]] == [None] * 5
