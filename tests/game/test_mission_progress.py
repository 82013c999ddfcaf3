"""Mission progress: measures, filters, windows in the program's zone, repeats, claiming."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from core import clock
from core.settings import Settings
from game.missions.progress import ProgressRow, ProgressView, packed_view, view
from game.models import Mission
from tests import factories
from tests.conftest import Api
from tests.game import factories as game

# Monday 2 Nov 2026, 10:00 in Asia/Ho_Chi_Minh (UTC+7); local midnight is 17:00 UTC.
MONDAY = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
DAY = timedelta(days=1)


async def test_sum_adds_values_and_count_counts_occurrences(api: Api) -> None:
    # given a mission summing km run to 10 and one counting 3 runs, and a member
    await game.action_type(api, "km.run")
    await game.mission(api, title="Run 10 km", actionType="km.run", measure="SUM", target=10)
    await game.mission(api, title="Run 3 times", actionType="km.run", target=3)
    member = await factories.member()
    # when the member runs 4.5 km, then 6 km
    await game.track(api, member, "km.run", value=4.5)
    last = await game.track(api, member, "km.run", value=6)
    # then the sum is done, the count at 2 of 3
    by_title = {m["mission"]["title"]: m for m in last["missions"]}
    assert by_title["Run 10 km"]["completed"] is True
    assert (by_title["Run 3 times"]["progress"], by_title["Run 3 times"]["completed"]) == (
        2.0,
        False,
    )


async def test_the_attribute_filter_needs_every_given_attribute_equal(api: Api) -> None:
    # given a mission of reviews with channel app and 5 stars, and a member
    await game.action_type(api, "review.posted")
    await game.mission(api, target=2, filter={"channel": "app", "stars": 5})
    member = await factories.member()
    # when reviews miss an attribute or differ in one
    misses = [
        {"channel": "app"},
        {"channel": "web", "stars": 5},
        {"channel": "app", "stars": 4},
        None,
    ]
    # then they do not count
    for attributes in misses:
        assert (await game.track(api, member, attributes=attributes))["missions"] == []
    # and a review with both (and more) counts
    hit = await game.track(api, member, attributes={"channel": "app", "stars": 5, "x": 1})
    assert hit["missions"][0]["progress"] == 1.0


async def test_daily_missions_reset_at_local_midnight(api: Api, settings: Settings) -> None:
    # given a daily mission of two app opens, Monday morning local, and a member
    clock.freeze(MONDAY)
    await game.action_type(api, "app.opened")
    await game.mission(api, actionType="app.opened", target=2, window="DAILY")
    member = await factories.member()
    # when the member opens the app
    first = await game.track(api, member, "app.opened")
    # then Monday's window counts it
    assert (first["missions"][0]["periodKey"], first["missions"][0]["progress"]) == (
        "2026-11-02",
        1.0,
    )
    # and at 23:59 local, the same day, the second open completes it
    clock.freeze(MONDAY.replace(hour=16, minute=59))  # 23:59 local, same day: completes
    assert (await game.track(api, member, "app.opened"))["missions"][0]["completed"]
    # and at local midnight a fresh window starts, counting from zero
    clock.freeze(MONDAY.replace(hour=17))  # local midnight: a fresh window
    [fresh] = await game.my_missions(api, member, settings)
    assert (fresh["periodKey"], fresh["progress"], fresh["completed"]) == (
        "2026-11-03",
        0.0,
        False,
    )
    again = await game.track(api, member, "app.opened")
    assert (again["missions"][0]["periodKey"], again["missions"][0]["progress"]) == (
        "2026-11-03",
        1.0,
    )


async def test_weekly_and_monthly_windows_use_iso_weeks_and_months(
    api: Api, settings: Settings
) -> None:
    # given a weekly and a monthly mission, and a member who opened the app on Monday
    clock.freeze(MONDAY)
    await game.action_type(api, "app.opened")
    await game.mission(api, title="week", actionType="app.opened", target=5, window="WEEKLY")
    await game.mission(api, title="month", actionType="app.opened", target=5, window="MONTHLY")
    member = await factories.member()
    await game.track(api, member, "app.opened")
    # when they open it again on Sunday 8 Nov 23:00 local, still ISO week 45 and November
    clock.freeze(datetime(2026, 11, 8, 16, 0, tzinfo=UTC))
    moved = await game.track(api, member, "app.opened")
    # then both windows count it
    keys = {m["mission"]["title"]: (m["periodKey"], m["progress"]) for m in moved["missions"]}
    assert keys == {"week": ("2026-W45", 2.0), "month": ("2026-11", 2.0)}
    # and on Monday 9 Nov local, a new week starts in the same month
    clock.freeze(datetime(2026, 11, 8, 17, 0, tzinfo=UTC))
    moved = await game.track(api, member, "app.opened")
    keys = {m["mission"]["title"]: (m["periodKey"], m["progress"]) for m in moved["missions"]}
    assert keys == {"week": ("2026-W46", 1.0), "month": ("2026-11", 3.0)}


async def test_once_missions_have_no_period_key(api: Api) -> None:
    # given a mission without a window, and a member
    await game.action_type(api, "review.posted")
    await game.mission(api)
    # when the member writes a review
    moved = await game.track(api, await factories.member())
    # then the progress has no period key
    assert moved["missions"][0]["periodKey"] is None


async def test_a_streak_counts_consecutive_local_days(api: Api, settings: Settings) -> None:
    # given a streak of three days, and a member
    clock.freeze(MONDAY)
    await game.action_type(api, "app.opened")
    await game.mission(api, actionType="app.opened", measure="STREAK_DAYS", target=3)
    member = await factories.member()
    # when they open the app on consecutive local days
    # then each day moves the streak once
    assert (await game.track(api, member, "app.opened"))["missions"][0]["progress"] == 1.0
    # and the same day again does not move it
    assert (await game.track(api, member, "app.opened"))["missions"] == []
    clock.advance(DAY)
    assert (await game.track(api, member, "app.opened"))["missions"][0]["progress"] == 2.0
    # and a day without the action breaks the streak: shown as 0, restarts at 1
    clock.advance(2 * DAY)
    assert (await game.my_missions(api, member, settings))[0]["progress"] == 0.0
    assert (await game.track(api, member, "app.opened"))["missions"][0]["progress"] == 1.0
    # and three days in a row complete it
    clock.advance(DAY)
    await game.track(api, member, "app.opened")
    clock.advance(DAY)
    done = (await game.track(api, member, "app.opened"))["missions"][0]
    assert (done["progress"], done["completed"]) == (3.0, True)


async def test_streak_days_follow_the_program_zone(api: Api) -> None:
    # given 16:30 and 17:30 UTC, two local days (23:30 and 00:30), and a streak of 2
    clock.freeze(MONDAY.replace(hour=16, minute=30))
    await game.action_type(api, "app.opened")
    await game.mission(api, actionType="app.opened", measure="STREAK_DAYS", target=2)
    member = await factories.member()
    # when the member opens the app at both
    await game.track(api, member, "app.opened")
    clock.freeze(MONDAY.replace(hour=17, minute=30))
    # then the streak is complete
    assert (await game.track(api, member, "app.opened"))["missions"][0]["completed"]


async def test_max_completions_repeats_then_stops(api: Api, settings: Settings) -> None:
    # given a mission of two reviews that repeats twice, and a member
    await game.action_type(api, "review.posted")
    await game.mission(api, target=2, maxCompletions=2, reward={"points": 10})
    member = await factories.member()
    # when the member writes five reviews
    seen = [(await game.track(api, member))["missions"] for _ in range(5)]
    # then it completes twice, and the fifth does not move it
    assert [(m[0]["progress"], m[0]["timesCompleted"]) for m in seen[:4]] == [
        (1.0, 0),
        (0.0, 1),
        (1.0, 1),
        (2.0, 2),
    ]
    assert seen[4] == []  # maxed out: the fifth review does not move it
    assert (await game.me(api, member, settings))["pointsBalance"] == 20


async def test_unlimited_completions(api: Api, settings: Settings) -> None:
    # given a mission of one review without a limit, and a member
    await game.action_type(api, "review.posted")
    await game.mission(api, target=1, maxCompletions=None, reward={"points": 1})
    member = await factories.member()
    # when the member writes four reviews
    for _ in range(4):
        last = await game.track(api, member)
    # then it completed four times, rewarded each time
    assert last["missions"][0]["timesCompleted"] == 4
    assert (await game.me(api, member, settings))["pointsBalance"] == 4


async def test_missions_count_only_between_start_and_end(api: Api, settings: Settings) -> None:
    # given a mission from Tuesday to Wednesday, and a member, on Monday
    clock.freeze(MONDAY)
    await game.action_type(api, "review.posted")
    await game.mission(
        api,
        startsAt=(MONDAY + DAY).isoformat(),
        endsAt=(MONDAY + 2 * DAY).isoformat(),
    )
    member = await factories.member()
    # when the member writes a review on Monday, Tuesday and Wednesday
    # then only Tuesday's counts, and the mission is offered only then
    assert (await game.track(api, member))["missions"] == []
    assert await game.my_missions(api, member, settings) == []
    clock.advance(DAY)
    assert (await game.track(api, member))["missions"][0]["progress"] == 1.0
    assert len(await game.my_missions(api, member, settings)) == 1
    clock.advance(DAY)
    assert (await game.track(api, member))["missions"] == []
    assert await game.my_missions(api, member, settings) == []


async def test_claim_grants_the_reward_once(api: Api, settings: Settings) -> None:
    # given a mission whose reward waits to be claimed, and a member
    await game.action_type(api, "review.posted")
    mission = await game.mission(api, target=1, autoClaim=False, reward={"points": 50})
    member = await factories.member()
    token = factories.token_for(member, settings)
    # when the member claims before completing it, it is NOT_ELIGIBLE
    early = await api(game.CLAIM, {"id": mission["id"]}, token=token)
    assert [e["code"] for e in early["claimMissionReward"]["errors"]] == ["NOT_ELIGIBLE"]
    # and when they complete it, the reward waits
    done = (await game.track(api, member))["missions"][0]
    assert (done["completed"], done["claimed"]) == (True, False)
    assert (await game.me(api, member, settings))["pointsBalance"] == 0
    # then a claim grants it once, and a second claim is ALREADY_REDEEMED
    claimed = (await api(game.CLAIM, {"id": mission["id"]}, token=token))["claimMissionReward"]
    assert claimed["pointsAwarded"] == 50 and claimed["progress"]["claimed"] is True
    assert (await game.me(api, member, settings))["pointsBalance"] == 50
    again = await api(game.CLAIM, {"id": mission["id"]}, token=token)
    assert [e["code"] for e in again["claimMissionReward"]["errors"]] == ["ALREADY_REDEEMED"]
    assert (await game.me(api, member, settings))["pointsBalance"] == 50


async def test_auto_claimed_rewards_cannot_be_claimed_again(api: Api, settings: Settings) -> None:
    # given a mission claimed on completion, completed by a member
    await game.action_type(api, "review.posted")
    mission = await game.mission(api, target=1, reward={"points": 5})
    member = await factories.member()
    await game.track(api, member)
    token = factories.token_for(member, settings)
    # when the member claims it, or an unknown mission
    again = await api(game.CLAIM, {"id": mission["id"]}, token=token)
    # then it is ALREADY_REDEEMED, the unknown one NOT_FOUND
    assert [e["code"] for e in again["claimMissionReward"]["errors"]] == ["ALREADY_REDEEMED"]
    unknown = await api(game.CLAIM, {"id": "987654"}, token=token)
    assert [e["code"] for e in unknown["claimMissionReward"]["errors"]] == ["NOT_FOUND"]


async def test_my_missions_hides_completed_ones_on_request(api: Api, settings: Settings) -> None:
    # given missions of one and three reviews, and a member who wrote one
    await game.action_type(api, "review.posted")
    await game.mission(api, title="one", target=1)
    await game.mission(api, title="three", target=3)
    member = await factories.member()
    await game.track(api, member)
    # when the member lists their missions with and without completed ones
    every = await game.my_missions(api, member, settings)
    # then the completed one is shown only when asked for
    assert [(m["mission"]["title"], m["completed"]) for m in every] == [
        ("one", True),
        ("three", False),
    ]
    open_ = await game.my_missions(api, member, settings, include_completed=False)
    assert [m["mission"]["title"] for m in open_] == ["three"]


async def test_tier_targeting(api: Api, settings: Settings) -> None:
    # given member and gold tiers, a mission for each, and a member in the starting tier
    upsert = """mutation($i: TierInput!) { upsertTier(input: $i) { errors { code } } }"""
    await api.admin(upsert, {"i": {"code": "member", "name": "Member", "threshold": 0}})
    await api.admin(upsert, {"i": {"code": "gold", "name": "Gold", "threshold": 300}})
    await game.action_type(api, "review.posted")
    await game.mission(api, title="for gold", tierCodes=["gold"])
    await game.mission(api, title="for members", tierCodes=["member"])
    member = await factories.member()
    # when the member writes a review
    moved = await game.track(api, member)
    # then only the members' mission moves and is offered
    assert [m["mission"]["title"] for m in moved["missions"]] == ["for members"]
    offered = await game.my_missions(api, member, settings)
    assert [m["mission"]["title"] for m in offered] == ["for members"]


async def test_segment_targeting(api: Api, settings: Settings) -> None:
    # given a segment of one member, a mission for it and one for everyone
    inside, outside = await factories.member(), await factories.member()
    created = await api.admin(
        """mutation($i: SegmentInput!) { createSegment(input: $i) {
          segment { id } errors { code } } }""",
        {"i": {"name": "Reviewers", "memberExternalIds": [inside.external_id]}},
    )
    segment_id = created["createSegment"]["segment"]["id"]
    await game.action_type(api, "review.posted")
    await game.mission(api, title="for the segment", segmentId=segment_id)
    await game.mission(api, title="for everyone")
    # when each member writes a review
    for member, titles in (
        (inside, ["for the segment", "for everyone"]),
        (outside, ["for everyone"]),
    ):
        moved = await game.track(api, member)
        # then the segment's mission moves and is offered for its member only
        assert [m["mission"]["title"] for m in moved["missions"]] == titles
        offered = await game.my_missions(api, member, settings)
        assert sorted(m["mission"]["title"] for m in offered) == sorted(titles)


async def test_an_unknown_segment_is_refused(api: Api) -> None:
    # given an action type
    await game.action_type(api, "review.posted")
    # when an admin creates a mission for an unknown segment
    data = await api.admin(game.CREATE_MISSION, {"i": game.mission_input(segmentId="999")})
    # then it is NOT_FOUND naming the segment
    assert [(e["code"], e["field"]) for e in data["createMission"]["errors"]] == [
        ("NOT_FOUND", ["input", "segmentId"])
    ]


async def test_a_late_report_counts_in_the_window_it_happened_in(
    api: Api, settings: Settings
) -> None:
    # given a daily mission, on Monday, and a member
    clock.freeze(MONDAY)
    await game.action_type(api, "app.opened")
    await game.mission(api, actionType="app.opened", target=2, window="DAILY")
    member = await factories.member()
    # when the member reports an open of Sunday
    late = await game.track(api, member, "app.opened", occurredAt=(MONDAY - DAY).isoformat())
    # then it counts in Sunday's window, not today's
    assert late["missions"][0]["periodKey"] == "2026-11-01"
    [today] = await game.my_missions(api, member, settings)
    assert (today["periodKey"], today["progress"]) == ("2026-11-02", 0.0)


async def test_a_late_report_does_not_rewrite_a_streak(api: Api) -> None:
    # given a streak mission, and a member who opened the app on Monday
    clock.freeze(MONDAY)
    await game.action_type(api, "app.opened")
    await game.mission(api, actionType="app.opened", measure="STREAK_DAYS", target=3)
    member = await factories.member()
    await game.track(api, member, "app.opened")
    # when the member reports an open of Sunday
    earlier = await game.track(api, member, "app.opened", occurredAt=(MONDAY - DAY).isoformat())
    # then the streak does not move
    assert earlier["missions"] == []


async def test_one_claim_collects_every_unclaimed_completion(api: Api, settings: Settings) -> None:
    # given a mission of one review that repeats twice, its reward claimed, and a member
    await game.action_type(api, "review.posted")
    mission = await game.mission(
        api, target=1, autoClaim=False, maxCompletions=2, reward={"points": 50}
    )
    member = await factories.member()
    # when the member completes it twice
    await game.track(api, member)
    await game.track(api, member)
    # then one claim collects both rewards
    token = factories.token_for(member, settings)
    claimed = (await api(game.CLAIM, {"id": mission["id"]}, token=token))["claimMissionReward"]
    assert claimed["pointsAwarded"] == 100
    assert (claimed["progress"]["timesCompleted"], claimed["progress"]["claimed"]) == (2, True)
    assert (await game.me(api, member, settings))["pointsBalance"] == 100


async def test_a_badge_from_two_missions_is_held_once(api: Api, settings: Settings) -> None:
    # given two missions rewarding the same badge, and a member
    await game.action_type(api, "review.posted")
    await game.badge(api, "reviewer")
    await game.mission(api, title="one", target=1, reward={"badgeCode": "reviewer"})
    await game.mission(api, title="two", target=2, reward={"badgeCode": "reviewer"})
    member = await factories.member()
    # when the member completes both
    first = await game.track(api, member)
    second = await game.track(api, member)
    # then the badge is awarded once and held once
    assert [b["badge"]["code"] for b in first["badgesAwarded"]] == ["reviewer"]
    assert second["badgesAwarded"] == [] and second["missions"][0]["completed"]
    assert len((await game.me(api, member, settings))["badges"]) == 1


@pytest.mark.parametrize(
    ("measure", "max_completions", "progress", "done", "claimed", "last_day"),
    [
        ("COUNT", 1, "2", 0, 0, None),  # under way
        ("SUM", None, "0", 2, 1, None),  # repeated twice, one claimed
        ("COUNT", 1, "3", 1, 1, None),  # done and claimed: stays full
        ("STREAK_DAYS", 3, "2", 0, 0, date(2026, 10, 30)),  # a day went by: shown as 0
        ("STREAK_DAYS", 3, "2", 0, 0, date(2026, 11, 1)),  # still alive
    ],
)
def test_what_an_action_sends_is_the_view_a_reader_builds(
    measure: str,
    max_completions: int | None,
    progress: str,
    done: int,
    claimed: int,
    last_day: date | None,
) -> None:
    # given a mission of target 3 and a member's row in it
    mission = Mission(id=4, measure=measure, target=Decimal(3), max_completions=max_completions)
    at = MONDAY if done else None
    row = ProgressRow(4, 1, "2026-11-02", Decimal(progress), done, claimed, at, last_day, MONDAY)
    # when the action packs it, and a reader builds the view
    sent = packed_view(mission, row, "2026-11-02", MONDAY.date())
    shown = view(mission, row, "2026-11-02", MONDAY.date())
    # then they agree value for value, and the packed form reads back as the same view
    assert sent == shown.packed()
    assert ProgressView.from_packed(mission, sent) == shown
