"""trackAction: who may report what, points with caps and multipliers, idempotency, dates."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core import clock, events
from core.settings import Settings
from game.actions import ActionTracked
from game.models import Action
from tests import factories
from tests.conftest import Api
from tests.game import factories as game

# 10:00 in Asia/Ho_Chi_Minh (UTC+7), the program's default zone; the local day ends 17:00 UTC.
MORNING = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)


def _input(member_external_id: str | None, **fields: Any) -> dict[str, Any]:
    base = {"type": "app.opened", "idempotencyKey": "open-1"}
    if member_external_id is not None:
        base["memberExternalId"] = member_external_id
    return {"i": base | fields}


async def _errors(payload: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def test_points_go_through_the_ledger(api: Api, settings: Settings) -> None:
    # given an action type worth 10 points, and a member
    await game.action_type(api, "review.posted", points=10)
    member = await factories.member()
    # when an action of the member is tracked
    payload = await game.track(api, member)
    # then it earns 10 points, posted to the member's balance
    assert payload["pointsAwarded"] == 10 and payload["errors"] == []
    assert (await game.me(api, member, settings))["pointsBalance"] == 10


async def test_daily_cap_counts_earning_occurrences_per_local_day(
    api: Api, settings: Settings
) -> None:
    # given an action type worth 10 points, twice a day, and a member in the morning
    clock.freeze(MORNING)
    await game.action_type(api, "review.posted", points=10, dailyCap=2)
    member = await factories.member()
    # when they act three times
    earned = [(await game.track(api, member))["pointsAwarded"] for _ in range(3)]
    # then the third earns nothing
    assert earned == [10, 10, 0]
    # and at 16:59 UTC, still 23:59 local, the same day is still capped
    clock.freeze(MORNING.replace(hour=16, minute=59))
    assert (await game.track(api, member))["pointsAwarded"] == 0
    # and at 17:00 UTC, local midnight, a new day earns again
    clock.freeze(MORNING.replace(hour=17))
    assert (await game.track(api, member))["pointsAwarded"] == 10
    assert (await game.me(api, member, settings))["pointsBalance"] == 30


async def test_daily_cap_is_per_member(api: Api) -> None:
    # given an action type capped at once a day, and two members
    await game.action_type(api, "review.posted", points=10, dailyCap=1)
    one, two = await factories.member(), await factories.member()
    # when each acts once
    # then both earn
    assert (await game.track(api, one))["pointsAwarded"] == 10
    assert (await game.track(api, two))["pointsAwarded"] == 10


async def test_promotion_multiplies_action_points_floored(api: Api) -> None:
    # given an action type worth 5 points, and a promotion of x1.5 on it
    clock.freeze(MORNING)
    await game.action_type(api, "review.posted", points=5)
    data = await api.admin(
        """mutation($i: PromotionInput!) { createPromotion(input: $i) { errors { code } } }""",
        {
            "i": {
                "name": "Review week",
                "multiplier": 1.5,
                "startsAt": (MORNING - timedelta(days=1)).isoformat(),
                "endsAt": (MORNING + timedelta(days=1)).isoformat(),
                "actionTypes": ["review.posted"],
            }
        },
    )
    assert data["createPromotion"]["errors"] == []
    # and a member
    member = await factories.member()
    # when the member acts
    # then they earn floor(5 x 1.5)
    assert (await game.track(api, member))["pointsAwarded"] == 7  # floor(5 x 1.5)


async def test_member_reports_client_reportable_types_for_themselves(
    api: Api, settings: Settings
) -> None:
    # given a type members may report, and a member with a token
    await game.action_type(api, "app.opened", points=1, clientReportable=True)
    member = await factories.member()
    token = factories.token_for(member, settings)
    # when the member reports it without naming themselves, then naming themselves
    data = await api(game.TRACK, _input(None), token=token)
    # then both earn
    assert data["trackAction"]["pointsAwarded"] == 1
    same = await api(game.TRACK, _input(member.external_id, idempotencyKey="o2"), token=token)
    assert same["trackAction"]["pointsAwarded"] == 1


async def test_member_may_not_report_for_someone_else(api: Api, settings: Settings) -> None:
    # given a type members may report, and two members
    await game.action_type(api, "app.opened", points=1, clientReportable=True)
    member, other = await factories.member(), await factories.member()
    token = factories.token_for(member, settings)
    # when one reports it for the other
    data = await api(game.TRACK, _input(other.external_id), token=token)
    # then it is FORBIDDEN naming the member, and nothing is written
    assert await _errors(data["trackAction"]) == [("FORBIDDEN", ["input", "memberExternalId"])]
    assert await Action.all().count() == 0


async def test_member_may_not_report_server_verified_types(api: Api, settings: Settings) -> None:
    # given a type only the server may report, and a member
    await game.action_type(api, "review.posted", points=10)
    member = await factories.member()
    token = factories.token_for(member, settings)
    # when the member reports it
    data = await api(game.TRACK, _input(None, type="review.posted"), token=token)
    # then it is FORBIDDEN naming the type, and earns nothing
    assert await _errors(data["trackAction"]) == [("FORBIDDEN", ["input", "type"])]
    assert (await game.me(api, member, settings))["pointsBalance"] == 0


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"type": "nope.never"}, ("NOT_FOUND", ["input", "type"])),
        ({"type": "order"}, ("INVALID_INPUT", ["input", "type"])),
        ({"memberExternalId": "ghost"}, ("NOT_FOUND", ["input", "memberExternalId"])),
        ({"memberExternalId": None}, ("INVALID_INPUT", ["input", "memberExternalId"])),
        ({"value": -1}, ("INVALID_INPUT", ["input", "value"])),
        ({"attributes": [1, 2]}, ("INVALID_INPUT", ["input", "attributes"])),
        ({"idempotencyKey": ""}, ("INVALID_INPUT", ["input", "idempotencyKey"])),
        (
            {"occurredAt": (MORNING + timedelta(hours=1)).isoformat()},
            ("INVALID_INPUT", ["input", "occurredAt"]),
        ),
    ],
)
async def test_bad_reports_are_refused_and_write_nothing(
    api: Api, settings: Settings, fields: dict[str, Any], expected: tuple[str, list[str]]
) -> None:
    # given an action type, and a member
    clock.freeze(MORNING)
    await game.action_type(api, "app.opened", points=1)
    member = await factories.member()
    # when a report wrong in one field is tracked
    data = await api.integration(game.TRACK, _input(member.external_id, **fields))
    # then it is refused with the code naming that field, and nothing is written
    assert await _errors(data["trackAction"]) == [expected]
    assert await Action.all().count() == 0


async def test_a_retry_returns_the_first_result_and_changes_nothing(
    api: Api, settings: Settings
) -> None:
    # given an action type, a mission of one review with a badge, and a member
    await game.action_type(api, "review.posted", points=10)
    await game.badge(api, "reviewer")
    await game.mission(api, target=1, reward={"points": 5, "badgeCode": "reviewer"})
    member = await factories.member()
    variables = _input(member.external_id, type="review.posted", attributes={"stars": 5})
    # when the same report is sent twice
    first = (await api.integration(game.TRACK, variables))["trackAction"]
    again = (await api.integration(game.TRACK, variables))["trackAction"]
    # then the second is a duplicate answering what the first did, with no new effect
    assert first["duplicate"] is False and again["duplicate"] is True
    assert {k: v for k, v in again.items() if k != "duplicate"} == {
        k: v for k, v in first.items() if k != "duplicate"
    }
    assert first["pointsAwarded"] == 10 and first["badgesAwarded"][0]["badge"]["code"] == "reviewer"
    assert (await game.me(api, member, settings))["pointsBalance"] == 15
    assert await Action.all().count() == 1


async def test_a_result_stored_before_packing_replays_the_same(api: Api) -> None:
    # given an action tracked on a mission of two reviews, its stored result rewritten in
    # the form results had before they were packed (one snapshot object per mission)
    await game.action_type(api, "review.posted", points=10)
    await game.mission(api, target=2)
    member = await factories.member()
    variables = _input(member.external_id, type="review.posted")
    first = (await api.integration(game.TRACK, variables))["trackAction"]
    action = await Action.get(member_id=member.id)
    stored = action.result if isinstance(action.result, dict) else json.loads(action.result)
    keys = ("missionId", "progress", "target", "periodKey", "completed", "completedAt")
    keys += ("claimed", "timesCompleted")
    old = {
        "points": stored["points"],
        "missions": [dict(zip(keys, values, strict=True)) for values in stored.pop("packed")],
        "badges": stored["badges"],
    }
    await Action.filter(id=action.id).update(result=old)
    # when the report is retried
    again = (await api.integration(game.TRACK, variables))["trackAction"]
    # then it answers what the first did, the mission's progress included
    assert again["duplicate"] is True and first["missions"][0]["progress"] == 1.0
    assert {k: v for k, v in again.items() if k != "duplicate"} == {
        k: v for k, v in first.items() if k != "duplicate"
    }


@pytest.mark.parametrize(
    "change",
    [{"type": "review.other"}, {"value": 2}, {"attributes": {"stars": 4}}],
)
async def test_a_key_reused_with_other_content_is_a_conflict(
    api: Api, settings: Settings, change: dict[str, Any]
) -> None:
    # given a member's report
    await game.action_type(api, "review.posted", points=10)
    await game.action_type(api, "review.other", points=10)
    member = await factories.member()
    base = _input(member.external_id, type="review.posted", attributes={"stars": 5})
    await api.integration(game.TRACK, base)
    # when its key is sent again with other content
    changed = {"i": base["i"] | change}
    data = await api.integration(game.TRACK, changed)
    # then it is an IDEMPOTENCY_CONFLICT and earns nothing more
    assert await _errors(data["trackAction"]) == [
        ("IDEMPOTENCY_CONFLICT", ["input", "idempotencyKey"])
    ]
    assert (await game.me(api, member, settings))["pointsBalance"] == 10


async def test_the_same_key_for_two_members_is_two_actions(api: Api) -> None:
    # given two members
    await game.action_type(api, "app.opened", points=1)
    one, two = await factories.member(), await factories.member()
    # when each reports with the same key
    first = await api.integration(game.TRACK, _input(one.external_id))
    second = await api.integration(game.TRACK, _input(two.external_id))
    # then both are new actions
    assert first["trackAction"]["duplicate"] is False
    assert second["trackAction"]["duplicate"] is False


async def test_occurred_at_defaults_to_now_and_may_be_in_the_past(api: Api) -> None:
    # given an action type and a member
    clock.freeze(MORNING)
    await game.action_type(api, "app.opened")
    member = await factories.member()
    # when one action is reported without a time, and one of yesterday
    await api.integration(game.TRACK, _input(member.external_id))
    yesterday = MORNING - timedelta(days=1)
    await api.integration(
        game.TRACK,
        _input(member.external_id, idempotencyKey="o2", occurredAt=yesterday.isoformat()),
    )
    # then the first happened now, the other yesterday, each on its local day
    rows = await Action.all().order_by("id")
    assert [r.occurred_at for r in rows] == [MORNING, yesterday]
    assert [r.day.isoformat() for r in rows] == ["2026-11-02", "2026-11-01"]


@pytest.fixture
def tracked() -> Iterator[list[ActionTracked]]:
    seen: list[ActionTracked] = []

    async def record(event: ActionTracked) -> None:
        seen.append(event)

    events.on(ActionTracked, record)
    yield seen
    events.off(ActionTracked, record)


async def test_action_tracked_goes_out_once_per_new_action(
    api: Api, tracked: list[ActionTracked]
) -> None:
    # given an action type and a member
    clock.freeze(MORNING)
    await game.action_type(api, "app.opened")
    member = await factories.member()
    variables = _input(member.external_id, value=2.5)
    # when an action is tracked, then retried
    await api.integration(game.TRACK, variables)
    await api.integration(game.TRACK, variables)  # a retry is not a new action
    # then ActionTracked went out once
    assert tracked == [ActionTracked(member.id, "app.opened", 2.5, MORNING, MORNING)]


async def test_action_points_take_the_promotion_times_the_tier_multiplier(api: Api) -> None:
    # given a base tier of x1.5, a promotion of x2, and an action type worth 5 points
    clock.freeze(MORNING)
    tier = """mutation($i: TierInput!) { upsertTier(input: $i) { errors { code } } }"""
    await api.admin(
        tier, {"i": {"code": "base", "name": "Base", "threshold": 0, "earnMultiplier": 1.5}}
    )
    await api.admin(
        """mutation($i: PromotionInput!) { createPromotion(input: $i) { errors { code } } }""",
        {
            "i": {
                "name": "Double",
                "multiplier": 2.0,
                "startsAt": (MORNING - timedelta(days=1)).isoformat(),
                "endsAt": (MORNING + timedelta(hours=1)).isoformat(),
            }
        },
    )
    await game.action_type(api, "review.posted", points=5)
    # and a member
    member = await factories.member()
    # when the member acts
    # then they earn floor(5 x 2 x 1.5)
    assert (await game.track(api, member))["pointsAwarded"] == 15  # floor(5 x 2 x 1.5)
