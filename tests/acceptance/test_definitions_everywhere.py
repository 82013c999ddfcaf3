"""Definitions live in each process's memory, yet no write runs on a stale rule: a change on
one server process applies to the very next action tracked on another."""

from __future__ import annotations

from typing import Any

from tests.acceptance.conftest import Server
from tests.conftest import ADMIN_KEY, INTEGRATION_KEY

TYPE = """mutation($i: ActionTypeInput!) { upsertActionType(input: $i) { errors { code } } }"""
ENROL = """mutation($i: EnrollMemberInput!) { enrollMember(input: $i) { errors { code } } }"""
CREATE = """mutation($i: MissionInput!) { createMission(input: $i) {
  mission { id } errors { code } } }"""
UPDATE = """mutation($id: ID!, $i: MissionInput!) { updateMission(id: $id, input: $i) {
  errors { code } } }"""
STATUS = """mutation($id: ID!, $s: MissionStatus!) { setMissionStatus(id: $id, status: $s) {
  errors { code } } }"""
TRACK = """mutation($i: TrackActionInput!) { trackAction(input: $i) {
  pointsAwarded missions { progress target completed } errors { code } } }"""


def _mission(target: int) -> dict[str, Any]:
    return {
        "title": "Check in",
        "actionType": "defs.checkin",
        "target": target,
        "reward": {"points": 7},
        "window": "ONCE",
    }


async def _payload(server: Server, query: str, variables: dict[str, Any], token: str) -> Any:
    data = await server.data(query, variables, token=token)
    [payload] = data.values()
    assert payload["errors"] == [], payload
    return payload


async def test_a_rule_changed_on_one_process_applies_at_once_on_another(
    server: Server, second_server: Server
) -> None:
    # given an action type worth 1 point and a mission "check in 5 times", and a member
    # whose first check-in went through the second process (which loaded the definitions)
    await _payload(
        server, TYPE, {"i": {"key": "defs.checkin", "name": "Check-in", "points": 1}}, ADMIN_KEY
    )
    created = await _payload(server, CREATE, {"i": _mission(5)}, ADMIN_KEY)
    mission_id = created["mission"]["id"]
    await _payload(
        server,
        ENROL,
        {"i": {"externalId": "defs-1", "displayName": "Lê Văn Định"}},
        INTEGRATION_KEY,
    )

    async def track(key: str) -> Any:
        report = {"memberExternalId": "defs-1", "type": "defs.checkin", "idempotencyKey": key}
        return await _payload(second_server, TRACK, {"i": report}, INTEGRATION_KEY)

    first = await track("k1")
    assert first["missions"] == [{"progress": 1.0, "target": 5.0, "completed": False}]
    # when the admin lowers the target to 2 on the FIRST process and the member checks in on
    # the second at once (no wait for any announcement)
    await _payload(server, UPDATE, {"id": mission_id, "i": _mission(2)}, ADMIN_KEY)
    second = await track("k2")
    # then the second process applied the new target: the mission is complete, paid
    assert second["missions"][0]["target"] == 2.0 and second["missions"][0]["completed"]
    # and when the admin pauses a mission there, the next action on the other moves nothing
    created = await _payload(server, CREATE, {"i": _mission(9) | {"title": "Nine"}}, ADMIN_KEY)
    await track("k3")
    await _payload(server, STATUS, {"id": created["mission"]["id"], "s": "PAUSED"}, ADMIN_KEY)
    paused = await track("k4")
    assert paused["missions"] == []
    # and the action type's new worth too
    await _payload(
        server, TYPE, {"i": {"key": "defs.checkin", "name": "Check-in", "points": 4}}, ADMIN_KEY
    )
    assert (await track("k5"))["pointsAwarded"] == 4
