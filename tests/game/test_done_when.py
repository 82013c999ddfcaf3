"""The issue's worked example, in-process through the API (the live part is in acceptance)."""

from __future__ import annotations

from core.settings import Settings
from tests import factories
from tests.conftest import Api
from tests.game import factories as game


async def test_three_reviews_in_one_day_complete_the_mission_with_points_and_badge(
    api: Api, settings: Settings
) -> None:
    # given review.posted worth 10 points with dailyCap 2, and "Write 3 reviews"
    await game.action_type(api, "review.posted", points=10, dailyCap=2)
    await game.badge(api, "reviewer")
    mission = await game.mission(api, reward={"points": 100, "badgeCode": "reviewer"})
    member = await factories.member()

    # when the member posts three reviews in one day
    first = await game.track(api, member)
    second = await game.track(api, member)
    third = await game.track(api, member)

    # then the first two earn 10 points each, the third earns none but completes the mission
    assert [p["pointsAwarded"] for p in (first, second, third)] == [10, 10, 0]
    assert [p["missions"][0]["progress"] for p in (first, second)] == [1.0, 2.0]
    done = third["missions"][0]
    assert done["completed"] and done["claimed"] and done["timesCompleted"] == 1
    assert done["mission"]["id"] == mission["id"]
    assert [b["badge"]["code"] for b in third["badgesAwarded"]] == ["reviewer"]
    me = await game.me(api, member, settings)
    assert me["pointsBalance"] == 120
    assert [b["badge"]["code"] for b in me["badges"]] == ["reviewer"]
