"""NPS through the API: one answer per 90 days, the score, and the survey.completed action."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from core import clock
from core.errors import LimitReached
from core.settings import Settings
from engage import nps
from engage.models import NpsResponse
from game import action_types
from members.models import Member
from tests import backends
from tests.conftest import Api
from tests.engage import factories as f
from tests.factories import token_for

SUBMIT = """mutation($score: Int!, $comment: String) { submitNps(score: $score, comment: $comment) {
  pointsAwarded errors { code message field } } }"""
SUMMARY = """query($from: DateTime) { analytics(from: $from) {
  nps { score responses promoters passives detractors } } }"""
BALANCE = "{ me { pointsBalance } }"


async def answer(api: Api, m: Member, settings: Settings, score: int, comment: str | None = None):  # type: ignore[no-untyped-def]
    data = await api(SUBMIT, {"score": score, "comment": comment}, token=token_for(m, settings))
    return data["submitNps"]


async def test_answers_10_9_7_3_give_a_score_of_25(api: Api, settings: Settings) -> None:
    # given four members
    clock.freeze(f.NOON_LOCAL)
    # when they answer 10, 9, 7 and 3
    for score in (10, 9, 7, 3):
        payload = await answer(api, await f.member(), settings, score)
        assert payload == {"pointsAwarded": 0, "errors": []}
    # then NPS is 25: two promoters, a passive and a detractor
    since = (f.NOON_LOCAL - timedelta(days=1)).isoformat()
    nps = (await api.admin(SUMMARY, {"from": since}))["analytics"]["nps"]
    assert nps == {"score": 25.0, "responses": 4, "promoters": 2, "passives": 1, "detractors": 1}


async def test_no_answers_means_no_score(api: Api) -> None:
    """Given no answers, when an admin reads the analytics, then NPS has no score."""
    nps = (await api.admin(SUMMARY))["analytics"]["nps"]
    assert nps == {"score": None, "responses": 0, "promoters": 0, "passives": 0, "detractors": 0}


async def test_one_answer_per_member_per_90_days(api: Api, settings: Settings) -> None:
    # given a member who answered
    clock.freeze(f.NOON_LOCAL)
    m = await f.member()
    assert (await answer(api, m, settings, 8, "Good coffee"))["errors"] == []
    # when they answer again within 90 days
    clock.advance(timedelta(days=89, hours=23))
    again = await answer(api, m, settings, 2)
    # then it is refused and not stored
    assert again["errors"][0]["code"] == "LIMIT_REACHED"
    assert again["errors"][0]["field"] == ["score"]
    assert await NpsResponse.filter(member_id=m.id).count() == 1
    # and when 90 days have passed, they may answer again
    clock.advance(timedelta(hours=1))
    assert (await answer(api, m, settings, 9))["errors"] == []
    rows = await NpsResponse.filter(member_id=m.id).order_by("id")
    assert [(r.score, r.comment) for r in rows] == [(8, "Good coffee"), (9, None)]


async def test_out_of_range_score_is_invalid_and_not_stored(api: Api, settings: Settings) -> None:
    # given a member
    m = await f.member()
    # when they answer with a score outside 0..10, or a comment too long
    for score in (-1, 11):
        payload = await answer(api, m, settings, score)
        # then each is INVALID_INPUT naming the field, and nothing is stored
        assert payload["errors"][0]["code"] == "INVALID_INPUT"
        assert payload["errors"][0]["field"] == ["score"]
    too_long = await answer(api, m, settings, 5, "x" * 1001)
    assert too_long["errors"][0]["field"] == ["comment"]
    assert await NpsResponse.all().count() == 0


async def test_an_answer_is_a_survey_completed_action_that_earns_its_points(
    api: Api, settings: Settings
) -> None:
    # given the admin defined survey.completed worth 20 points
    await action_types.upsert(
        action_types.ActionTypeData(key="survey.completed", name="Survey", points=20)
    )
    m = await f.member()
    # when the member answers
    payload = await answer(api, m, settings, 9)
    # then the answer earns the action's points
    assert payload == {"pointsAwarded": 20, "errors": []}
    me = await api(BALANCE, token=token_for(m, settings))
    assert me["me"]["pointsBalance"] == 20


@pytest.mark.skipif(not backends.ON_POSTGRES, reason="races need PostgreSQL")
async def test_concurrent_answers_of_one_member_store_one() -> None:
    # given a member
    m = await f.member()
    # when they answer eight times at once
    results = await asyncio.gather(
        *(nps.submit(m.id, 9, None) for _ in range(8)), return_exceptions=True
    )
    # then one answer is stored, the others are LIMIT_REACHED
    assert sum(1 for r in results if r == 0) == 1
    assert all(isinstance(r, LimitReached) for r in results if r != 0)
    assert await NpsResponse.filter(member_id=m.id).count() == 1
