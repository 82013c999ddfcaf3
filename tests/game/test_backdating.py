"""Who may backdate an action, and how far: caps cannot be dodged by reporting the past."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from core import clock
from core.settings import Settings
from game.models import Action
from tests import factories
from tests.conftest import Api
from tests.game import factories as game

# 10:00 in Asia/Ho_Chi_Minh (UTC+7).
MORNING = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)


def _input(key: str, occurred: datetime, member: str | None = None) -> dict[str, Any]:
    i: dict[str, Any] = {
        "type": "checkin",
        "idempotencyKey": key,
        "occurredAt": occurred.isoformat(),
    }
    if member is not None:
        i["memberExternalId"] = member
    return {"i": i}


async def test_a_member_cannot_backdate_to_dodge_the_daily_cap(
    api: Api, settings: Settings
) -> None:
    # given a check-in members report themselves, once a day, and a member who checked in
    clock.freeze(MORNING)
    await game.action_type(api, "checkin", points=20, dailyCap=1, clientReportable=True)
    member = await factories.member()
    token = factories.token_for(member, settings)
    first = await api(game.TRACK, _input("now", MORNING), token=token)
    assert first["trackAction"]["pointsAwarded"] == 20
    # when they report 30 more check-ins, one for each of the past 30 days
    refusals = []
    for days in range(1, 31):
        data = await api(
            game.TRACK, _input(f"d{days}", MORNING - timedelta(days=days)), token=token
        )
        refusals.append([(e["code"], e["field"]) for e in data["trackAction"]["errors"]])
    # then each is refused naming occurredAt, and only the first check-in earned
    assert refusals == [[("INVALID_INPUT", ["input", "occurredAt"])]] * 30
    assert await Action.all().count() == 1
    assert (await game.me(api, member, settings))["pointsBalance"] == 20


async def test_a_member_report_within_the_phone_clock_skew_is_taken(
    api: Api, settings: Settings
) -> None:
    # given a member whose phone clock is 50 s behind
    clock.freeze(MORNING)
    await game.action_type(api, "checkin", points=20, dailyCap=1, clientReportable=True)
    member = await factories.member()
    token = factories.token_for(member, settings)
    # when they check in
    data = await api(game.TRACK, _input("k", MORNING - timedelta(seconds=50)), token=token)
    # then it counts, at the time they gave
    assert data["trackAction"]["pointsAwarded"] == 20
    assert (await Action.get()).occurred_at == MORNING - timedelta(seconds=50)


async def test_staff_backdate_within_a_year_and_the_cap_counts_that_local_day(api: Api) -> None:
    # given a capped check-in and a member who checked in six days ago (reported by staff)
    clock.freeze(MORNING)
    await game.action_type(api, "checkin", points=20, dailyCap=1, clientReportable=True)
    member = await factories.member()
    six_days_ago = MORNING - timedelta(days=6)
    track = game.TRACK
    first = await api.integration(track, _input("a", six_days_ago, member.external_id))
    # when staff report a second check-in on that same local day, and one a year and a day ago
    again = await api.integration(
        track, _input("b", six_days_ago + timedelta(hours=5), member.external_id)
    )
    too_old = await api.integration(
        track, _input("c", MORNING - timedelta(days=367), member.external_id)
    )
    ahead = await api.integration(
        track, _input("d", MORNING + timedelta(minutes=2), member.external_id)
    )
    # then the first earns, the second is within that day's cap, and the others are refused
    assert first["trackAction"]["pointsAwarded"] == 20
    assert again["trackAction"]["pointsAwarded"] == 0
    for refused in (too_old, ahead):
        errors = [(e["code"], e["field"]) for e in refused["trackAction"]["errors"]]
        assert errors == [("INVALID_INPUT", ["input", "occurredAt"])]
    assert await Action.all().count() == 2
