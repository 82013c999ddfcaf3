"""Game end to end on real server processes: the "Write 3 reviews" mission, live events."""

from __future__ import annotations

import contextlib
from typing import Any

from tests.acceptance.conftest import Server, next_message, socket_for, subscribe
from tests.conftest import ADMIN_KEY, INTEGRATION_KEY

EVENTS = """subscription { memberEvents { __typename
  ... on MissionProgressed { at progress { progress target completed claimed timesCompleted
        mission { title } } }
  ... on BadgeAwarded { at award { badge { code } awardedAt } }
  ... on PointsChanged { balance delta reason } } }"""
ENROL = """mutation($i: EnrollMemberInput!) { enrollMember(input: $i) { errors { code } } }"""
TOKEN = """mutation($e: String!) { issueMemberToken(memberExternalId: $e) { token } }"""
TYPE = """mutation($i: ActionTypeInput!) { upsertActionType(input: $i) { errors { code } } }"""
BADGE = """mutation($i: BadgeInput!) { upsertBadge(input: $i) { errors { code } } }"""
MISSION = """mutation($i: MissionInput!) { createMission(input: $i) { errors { code } } }"""
TRACK = """mutation($i: TrackActionInput!) { trackAction(input: $i) {
  pointsAwarded errors { code } } }"""
ME = "{ me { pointsBalance badges { badge { code } } } }"


async def ok(server: Server, query: str, variables: dict[str, Any], token: str) -> None:
    data = await server.data(query, variables, token=token)
    [payload] = data.values()
    assert payload["errors"] == [], payload


async def test_three_reviews_complete_the_mission_live_on_another_process(
    server: Server, second_server: Server
) -> None:
    # given the program: review.posted worth 10 (dailyCap 2), "Write 3 reviews" -> 100 + reviewer
    await ok(
        server,
        TYPE,
        {"i": {"key": "review.posted", "name": "Review", "points": 10, "dailyCap": 2}},
        ADMIN_KEY,
    )
    await ok(server, TYPE, {"i": {"key": "acc.ping", "name": "Ping"}}, ADMIN_KEY)
    await ok(server, BADGE, {"i": {"code": "reviewer", "name": "Reviewer"}}, ADMIN_KEY)
    reward = {"points": 100, "badgeCode": "reviewer"}
    await ok(
        server,
        MISSION,
        {
            "i": {
                "title": "Write 3 reviews",
                "actionType": "review.posted",
                "target": 3,
                "reward": reward,
            }
        },
        ADMIN_KEY,
    )
    await ok(
        server,
        MISSION,
        {
            "i": {
                "title": "Ping",
                "actionType": "acc.ping",
                "target": 10**6,
                "reward": {"points": 1},
            }
        },
        ADMIN_KEY,
    )
    external_id = "acc-game-reviewer"
    await ok(
        server, ENROL, {"i": {"externalId": external_id, "displayName": "Lê Thu"}}, INTEGRATION_KEY
    )
    token = (await server.data(TOKEN, {"e": external_id}, token=INTEGRATION_KEY))[
        "issueMemberToken"
    ]["token"]
    keys = iter(range(10**6))

    async def track(type_: str) -> dict[str, Any]:
        variables = {
            "i": {
                "memberExternalId": external_id,
                "type": type_,
                "idempotencyKey": f"acc-{type_}-{next(keys)}",
            }
        }
        data = await server.data(TRACK, variables, token=INTEGRATION_KEY)
        return data["trackAction"]

    async with socket_for(second_server, token) as ws:
        await subscribe(ws, EVENTS)
        # subscribing has no acknowledgement: ping (no points) until the socket hears one
        for _ in range(20):
            await track("acc.ping")
            with contextlib.suppress(TimeoutError):
                await next_message(ws, wait=0.5)
                break
        else:
            raise AssertionError("the subscription never came alive")
        with contextlib.suppress(TimeoutError):
            while True:
                await next_message(ws, wait=0.5)  # drain the other pings' events

        # when the member posts three reviews on process A
        earned = [(await track("review.posted"))["pointsAwarded"] for _ in range(3)]
        assert earned == [10, 10, 0]

        # then the socket on process B hears the mission progress and the badge
        seen: list[dict[str, Any]] = []
        with contextlib.suppress(TimeoutError):
            while not any(e["__typename"] == "BadgeAwarded" for e in seen) or not any(
                e["__typename"] == "MissionProgressed" and e["progress"]["completed"] for e in seen
            ):
                message = await next_message(ws, wait=5.0)
                assert message["type"] == "next", message
                seen.append(message["payload"]["data"]["memberEvents"])
    progress = [e["progress"] for e in seen if e["__typename"] == "MissionProgressed"]
    assert [(p["progress"], p["completed"]) for p in progress] == [
        (1.0, False),
        (2.0, False),
        (3.0, True),
    ]
    assert progress[-1]["claimed"] and progress[-1]["mission"]["title"] == "Write 3 reviews"
    badges = [e["award"]["badge"]["code"] for e in seen if e["__typename"] == "BadgeAwarded"]
    assert badges == ["reviewer"]
    me = (await server.data(ME, token=token))["me"]
    assert me == {"pointsBalance": 120, "badges": [{"badge": {"code": "reviewer"}}]}
