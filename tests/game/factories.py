"""Builders and GraphQL documents for the game tests, everything through the API: action
types, badges, missions, tracked actions (one at a time or in batches), and leaderboards
(orders worth exact points, a frozen clock with room either side)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from core import clock
from core.settings import Settings
from members.models import Member
from tests import factories
from tests.conftest import Api
from tests.rewards.ledger_api import record

ERRORS = "errors { code field message }"
UPSERT_TYPE = f"""mutation($i: ActionTypeInput!) {{ upsertActionType(input: $i) {{
  actionType {{ key name points dailyCap clientReportable }} {ERRORS} }} }}"""
UPSERT_BADGE = f"""mutation($i: BadgeInput!) {{ upsertBadge(input: $i) {{
  badge {{ code name description iconUrl secret }} {ERRORS} }} }}"""
PROGRESS = """progress target periodKey completed completedAt claimed timesCompleted
  mission { id title }"""
TRACK = f"""mutation($i: TrackActionInput!) {{ trackAction(input: $i) {{
  pointsAwarded duplicate missions {{ {PROGRESS} }}
  badgesAwarded {{ badge {{ code }} awardedAt }} {ERRORS} }} }}"""
MISSION_FIELDS = """id title description actionType measure target filter window startsAt endsAt
  reward { points badge { code } spins } autoClaim maxCompletions tierCodes status completions"""
CREATE_MISSION = f"""mutation($i: MissionInput!) {{ createMission(input: $i) {{
  mission {{ {MISSION_FIELDS} }} {ERRORS} }} }}"""
UPDATE_MISSION = f"""mutation($id: ID!, $i: MissionInput!) {{ updateMission(id: $id, input: $i) {{
  mission {{ {MISSION_FIELDS} }} {ERRORS} }} }}"""
SET_STATUS = f"""mutation($id: ID!, $s: MissionStatus!) {{ setMissionStatus(id: $id, status: $s) {{
  mission {{ id status }} {ERRORS} }} }}"""
MY_MISSIONS = f"""query($c: Boolean) {{ myMissions(includeCompleted: $c) {{ {PROGRESS} }} }}"""
CLAIM = f"""mutation($id: ID!) {{ claimMissionReward(missionId: $id) {{
  pointsAwarded progress {{ {PROGRESS} }} {ERRORS} }} }}"""
ME = "{ me { pointsBalance badges { badge { code } awardedAt } } }"


async def action_type(api: Api, key: str, **fields: Any) -> dict[str, Any]:
    data = await api.admin(UPSERT_TYPE, {"i": {"key": key, "name": key.title(), **fields}})
    assert data["upsertActionType"]["errors"] == []
    return data["upsertActionType"]["actionType"]


async def badge(api: Api, code: str, **fields: Any) -> None:
    data = await api.admin(UPSERT_BADGE, {"i": {"code": code, "name": code.title(), **fields}})
    assert data["upsertBadge"]["errors"] == []


async def mission(api: Api, **fields: Any) -> dict[str, Any]:
    data = await api.admin(CREATE_MISSION, {"i": mission_input(**fields)})
    assert data["createMission"]["errors"] == [], data
    return data["createMission"]["mission"]


def mission_input(**fields: Any) -> dict[str, Any]:
    return {
        "title": "Write 3 reviews",
        "actionType": "review.posted",
        "target": 3,
        "reward": {"points": 100},
    } | fields


_keys = iter(range(1, 10**9))


async def track(
    api: Api, member: Member, type_: str = "review.posted", **fields: Any
) -> dict[str, Any]:
    """trackAction by the integration key; returns the payload (errors included)."""
    data = await api.integration(
        TRACK,
        {
            "i": {
                "memberExternalId": member.external_id,
                "type": type_,
                "idempotencyKey": f"k-{next(_keys)}",
                **fields,
            }
        },
    )
    return data["trackAction"]


BATCH = f"""mutation($i: [TrackActionInput!]!) {{ trackActions(inputs: $i) {{
  results {{ pointsAwarded duplicate missions {{ progress completed mission {{ title }} }}
    badgesAwarded {{ badge {{ code }} }} {ERRORS} }}
  {ERRORS} }} }}"""


def item(member: Member | None, key: str, type_: str = "review.posted", **fields: Any) -> dict:
    """One input of a trackActions batch (no member: the caller's own, for member tokens)."""
    found = {"type": type_, "idempotencyKey": key, **fields}
    if member is not None:
        found["memberExternalId"] = member.external_id
    return found


async def me(api: Api, member: Member, settings: Settings) -> dict[str, Any]:
    return (await api(ME, token=factories.token_for(member, settings)))["me"]


async def my_missions(
    api: Api, member: Member, settings: Settings, include_completed: bool = True
) -> list[dict[str, Any]]:
    token = factories.token_for(member, settings)
    return (await api(MY_MISSIONS, {"c": include_completed}, token=token))["myMissions"]


# -- leaderboards ----------------------------------------------------------------------

ENTRY = "rank score member { id displayName tierCode }"
BOARD = f"""query($k: String!, $p: LeaderboardPeriod!, $f: Int!, $r: Int!) {{
  leaderboard(key: $k, period: $p, first: $f) {{
    key period periodKey participants entries {{ {ENTRY} }}
    me {{ {ENTRY} }} aroundMe(radius: $r) {{ {ENTRY} }} }} }}"""
UPSERT_BOARD = """mutation($i: LeaderboardInput!) { upsertLeaderboard(input: $i) {
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
