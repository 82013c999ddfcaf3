"""Missions as admins define them: validation, updates that keep progress, statuses."""

from __future__ import annotations

from typing import Any

import pytest

from core.settings import Settings
from game.models import Mission
from tests import factories
from tests.conftest import Api
from tests.game import factories as game

LIST = "query($s: MissionStatus) { missions(status: $s) { id status completions } }"


async def test_create_mission_returns_the_definition(api: Api) -> None:
    # given an action type and a badge
    await game.action_type(api, "review.posted")
    await game.badge(api, "reviewer")
    # when an admin creates a mission with every field
    created = await game.mission(
        api,
        description="Share your thoughts",
        reward={"points": 100, "badgeCode": "reviewer"},
        filter={"channel": "app"},
        window="WEEKLY",
        maxCompletions=None,
        startsAt="2026-11-01T00:00:00+00:00",
        endsAt="2026-12-01T00:00:00+00:00",
    )
    # then it returns the definition as given, active, with no completions
    assert {k: v for k, v in created.items() if k != "id"} == {
        "title": "Write 3 reviews",
        "description": "Share your thoughts",
        "actionType": "review.posted",
        "measure": "COUNT",
        "target": 3.0,
        "filter": {"channel": "app"},
        "window": "WEEKLY",
        "startsAt": "2026-11-01T00:00:00+00:00",
        "endsAt": "2026-12-01T00:00:00+00:00",
        "reward": {"points": 100, "badge": {"code": "reviewer"}, "spins": None},
        "autoClaim": True,
        "maxCompletions": None,
        "tierCodes": None,
        "status": "ACTIVE",
        "completions": 0,
    }


async def test_the_built_in_order_action_can_be_measured(api: Api) -> None:
    # given only the built-in order action
    # when a mission sums orders
    created = await game.mission(api, actionType="order", measure="SUM", target=1_000_000)
    # then it is created
    assert created["actionType"] == "order" and created["measure"] == "SUM"


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"target": 0}, "INVALID_INPUT", ["input", "target"]),
        ({"target": -3}, "INVALID_INPUT", ["input", "target"]),
        ({"target": 2.5}, "INVALID_INPUT", ["input", "target"]),
        ({"actionType": "nope.never"}, "NOT_FOUND", ["input", "actionType"]),
        (
            {"startsAt": "2026-12-01T00:00:00Z", "endsAt": "2026-12-01T00:00:00Z"},
            "INVALID_INPUT",
            ["input", "endsAt"],
        ),
        ({"reward": {}}, "INVALID_INPUT", ["input", "reward"]),
        ({"reward": {"points": 0}}, "INVALID_INPUT", ["input", "reward"]),
        ({"reward": {"badgeCode": "ghost"}}, "NOT_FOUND", ["input", "reward", "badgeCode"]),
        ({"reward": {"spins": 3}}, "INVALID_INPUT", ["input", "reward", "spins"]),
        (
            {"reward": {"spinWheelId": "999", "spins": 1}},
            "NOT_FOUND",
            ["input", "reward", "spinWheelId"],
        ),
        ({"reward": {"voucherOfferId": "999"}}, "NOT_FOUND", ["input", "reward", "voucherOfferId"]),
        ({"maxCompletions": 0}, "INVALID_INPUT", ["input", "maxCompletions"]),
        ({"title": ""}, "INVALID_INPUT", ["input", "title"]),
        ({"filter": "channel=app"}, "INVALID_INPUT", ["input", "filter"]),
        ({"tierCodes": ["platinum"]}, "NOT_FOUND", ["input", "tierCodes"]),
    ],
)
async def test_bad_definitions_name_the_field_and_write_nothing(
    api: Api, fields: dict[str, Any], code: str, field: list[str]
) -> None:
    # given an action type
    await game.action_type(api, "review.posted")
    # when an admin creates a mission wrong in one field
    data = await api.admin(game.CREATE_MISSION, {"i": game.mission_input(**fields)})
    payload = data["createMission"]
    # then it is refused with the code naming that field, and nothing is written
    assert payload["mission"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert await Mission.all().count() == 0


async def test_changing_a_live_mission_keeps_progress_already_made(
    api: Api, settings: Settings
) -> None:
    # given a mission of 3 reviews and a member who wrote 2
    await game.action_type(api, "review.posted")
    mission = await game.mission(api, target=3)
    member = await factories.member()
    await game.track(api, member)
    await game.track(api, member)
    # when the admin raises the target to 5
    data = await api.admin(
        game.UPDATE_MISSION,
        {"id": mission["id"], "i": game.mission_input(title="Write 5 reviews", target=5)},
    )
    # then the member keeps their 2 of the new 5
    assert data["updateMission"]["mission"]["target"] == 5.0
    [progress] = await game.my_missions(api, member, settings)
    assert (progress["progress"], progress["target"]) == (2.0, 5.0)
    assert progress["mission"]["title"] == "Write 5 reviews"
    # and the next three reviews complete it under the new target
    for _ in range(3):
        last = await game.track(api, member)
    assert last["missions"][0]["completed"] is True


async def test_update_validates_like_create(api: Api) -> None:
    # given a mission of 3 reviews
    await game.action_type(api, "review.posted")
    mission = await game.mission(api, target=3)
    # when an admin updates it wrong, or updates an unknown mission
    data = await api.admin(
        game.UPDATE_MISSION, {"id": mission["id"], "i": game.mission_input(target=0)}
    )
    # then it is refused like a create, and the mission is unchanged
    assert data["updateMission"]["errors"][0]["field"] == ["input", "target"]
    assert (await Mission.get(id=int(mission["id"]))).target == 3
    unknown = await api.admin(game.UPDATE_MISSION, {"id": "424242", "i": game.mission_input()})
    assert unknown["updateMission"]["errors"][0]["code"] == "NOT_FOUND"


async def test_paused_missions_do_not_move_and_are_not_offered(
    api: Api, settings: Settings
) -> None:
    # given a mission, paused, and a member
    await game.action_type(api, "review.posted")
    mission = await game.mission(api)
    member = await factories.member()
    await api.admin(game.SET_STATUS, {"id": mission["id"], "s": "PAUSED"})
    # when the member writes a review
    # then it moves nothing and the mission is not offered
    assert (await game.track(api, member))["missions"] == []
    assert await game.my_missions(api, member, settings) == []
    # and once it is active again, a review moves it
    await api.admin(game.SET_STATUS, {"id": mission["id"], "s": "ACTIVE"})
    assert (await game.track(api, member))["missions"][0]["progress"] == 1.0


async def test_drafts_start_inactive(api: Api, settings: Settings) -> None:
    # given a draft mission and a member
    await game.action_type(api, "review.posted")
    await game.mission(api, status="DRAFT")
    member = await factories.member()
    # when the member writes a review
    # then it moves nothing
    assert (await game.track(api, member))["missions"] == []


async def test_an_archived_mission_stays_archived(api: Api) -> None:
    # given an archived mission
    await game.action_type(api, "review.posted")
    mission = await game.mission(api)
    await api.admin(game.SET_STATUS, {"id": mission["id"], "s": "ARCHIVED"})
    # when an admin makes it active again
    data = await api.admin(game.SET_STATUS, {"id": mission["id"], "s": "ACTIVE"})
    # then that is refused, naming the status
    assert [(e["code"], e["field"]) for e in data["setMissionStatus"]["errors"]] == [
        ("INVALID_INPUT", ["status"])
    ]


async def test_missions_lists_by_status_with_completions(api: Api) -> None:
    # given an active mission completed by two members, and a draft
    await game.action_type(api, "review.posted")
    one = await game.mission(api, target=1)
    two = await game.mission(api, status="DRAFT")
    for _ in range(2):
        await game.track(api, await factories.member())
    # when an admin lists the missions
    everything = (await api.admin(LIST))["missions"]
    # then each is listed with its status and completions, and a status filters them
    assert everything == [
        {"id": one["id"], "status": "ACTIVE", "completions": 2},
        {"id": two["id"], "status": "DRAFT", "completions": 0},
    ]
    drafts = (await api.admin(LIST, {"s": "DRAFT"}))["missions"]
    assert [m["id"] for m in drafts] == [two["id"]]


async def test_only_admins_define_missions(api: Api, settings: Settings) -> None:
    # given an action type
    await game.action_type(api, "review.posted")
    # when the integration key creates a mission
    body = await api.raw(
        game.CREATE_MISSION, {"i": game.mission_input()}, token="test-integration-key"
    )
    # then it is FORBIDDEN
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
