"""GraphQL snippets and small builders for the game tests (everything goes through the API)."""

from __future__ import annotations

from typing import Any

from core.settings import Settings
from members.models import Member
from tests import factories
from tests.conftest import Api

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


async def me(api: Api, member: Member, settings: Settings) -> dict[str, Any]:
    return (await api(ME, token=factories.token_for(member, settings)))["me"]


async def my_missions(
    api: Api, member: Member, settings: Settings, include_completed: bool = True
) -> list[dict[str, Any]]:
    token = factories.token_for(member, settings)
    return (await api(MY_MISSIONS, {"c": include_completed}, token=token))["myMissions"]
