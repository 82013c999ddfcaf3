"""GraphQL documents and builders for the leaderboard tests (everything through the API)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from core import clock
from tests import factories
from tests.conftest import Api
from tests.rewards.ledger_api import record

ENTRY = "rank score member { id displayName tierCode }"
BOARD = f"""query($k: String!, $p: LeaderboardPeriod!, $f: Int!, $r: Int!) {{
  leaderboard(key: $k, period: $p, first: $f) {{
    key period periodKey participants entries {{ {ENTRY} }}
    me {{ {ENTRY} }} aroundMe(radius: $r) {{ {ENTRY} }} }} }}"""
UPSERT = """mutation($i: LeaderboardInput!) { upsertLeaderboard(input: $i) {
  leaderboard { key name metric actionType } errors { code field message } } }"""
HIDE = """mutation($h: Boolean!) { setLeaderboardHidden(hidden: $h) {
  member { id leaderboardHidden } errors { code field } } }"""

# A Monday noon in the program's zone (UTC+7), so a week and a month have room either side.
T0 = datetime(2026, 11, 16, 5, 0, tzinfo=UTC)
POINT = 20_000  # VND per point at the default earn rate (5%) and point value (1000)


def freeze() -> None:
    clock.freeze(T0)


async def board(
    api: Api,
    key: str = "points",
    period: str = "ALL_TIME",
    first: int = 10,
    *,
    token: str | None = None,
    radius: int = 2,
) -> dict[str, Any]:
    variables = {"k": key, "p": period, "f": first, "r": radius}
    if token is None:
        return (await api.admin(BOARD, variables))["leaderboard"]
    return (await api(BOARD, variables, token=token))["leaderboard"]


_orders = iter(range(1, 10**9))


async def earn(api: Api, external_id: str, points: int, **extra: Any) -> str:
    """Record an order worth exactly `points` points; returns its orderId."""
    order_id = f"lb-o-{next(_orders)}"
    result = await record(api, order_id, external_id, points * POINT, **extra)
    assert result["errors"] == [] and result["pointsEarned"] == points, result
    return order_id


async def members(n: int, prefix: str = "lb") -> list[Any]:
    return [
        await factories.member(external_id=f"{prefix}-{i}", display_name=f"Player {i}")
        for i in range(1, n + 1)
    ]


def tick(seconds: float = 1) -> None:
    clock.advance(timedelta(seconds=seconds))


def ranking(entries: list[dict[str, Any]]) -> list[tuple[int, float, str]]:
    return [(e["rank"], e["score"], e["member"]["id"]) for e in entries]
