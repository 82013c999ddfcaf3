"""Races on PostgreSQL: retries, daily caps and completions hold under concurrent reports."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core.settings import Settings
from game.models import Action, MissionProgress
from tests import backends, factories
from tests.conftest import Api
from tests.game import factories as game

pytestmark = pytest.mark.skipif(not backends.ON_POSTGRES, reason="races need PostgreSQL")


def _report(external_id: str, key: str) -> dict[str, Any]:
    return {"i": {"memberExternalId": external_id, "type": "review.posted", "idempotencyKey": key}}


async def test_twenty_concurrent_copies_of_one_key_have_one_effect(
    api: Api, settings: Settings
) -> None:
    # given an action type worth 10 points and a member
    await game.action_type(api, "review.posted", points=10)
    member = await factories.member()
    # when twenty copies of one report (one key) arrive at once
    results = await asyncio.gather(
        *(api.integration(game.TRACK, _report(member.external_id, "same")) for _ in range(20))
    )
    # then one counts, the others are its duplicates
    payloads = [r["trackAction"] for r in results]
    assert all(p["errors"] == [] and p["pointsAwarded"] == 10 for p in payloads)
    assert sorted(p["duplicate"] for p in payloads) == [False] + [True] * 19
    assert await Action.all().count() == 1
    assert (await game.me(api, member, settings))["pointsBalance"] == 10


async def test_the_daily_cap_holds_under_concurrent_reports(api: Api, settings: Settings) -> None:
    # given an action type worth 10 points, three a day, a mission of ten, and a member
    await game.action_type(api, "review.posted", points=10, dailyCap=3)
    await game.mission(api, target=10, reward={"points": 1})
    member = await factories.member()
    # when ten reports arrive at once
    results = await asyncio.gather(
        *(api.integration(game.TRACK, _report(member.external_id, f"k{n}")) for n in range(10))
    )
    # then three earn points
    earned = sorted(r["trackAction"]["pointsAwarded"] for r in results)
    assert earned == [0] * 7 + [10] * 3
    # and every report still counted for the mission: completed exactly once
    [row] = await MissionProgress.all()
    assert (row.times_completed, row.progress) == (1, 10)
    assert (await game.me(api, member, settings))["pointsBalance"] == 31


async def test_orders_and_actions_of_one_member_do_not_deadlock(
    api: Api, settings: Settings
) -> None:
    # given missions over orders and over reviews, and a member
    await game.action_type(api, "review.posted", points=10)
    await game.mission(api, actionType="order", target=5, reward={"points": 1})
    await game.mission(api, target=5, reward={"points": 1})
    member = await factories.member()
    # when ten reviews and ten orders of the member arrive at once
    record = """mutation($i: RecordOrderInput!) { recordOrder(input: $i) { errors { code } } }"""
    calls = []
    for n in range(10):
        calls.append(api.integration(game.TRACK, _report(member.external_id, f"a{n}")))
        order = {"orderId": f"o{n}", "memberExternalId": member.external_id, "amount": "20000"}
        calls.append(api.integration(record, {"i": order}))
    results = await asyncio.gather(*calls)
    # then none fails, each counts, each mission completes once
    assert all(not next(iter(r.values()))["errors"] for r in results)
    assert await Action.all().count() == 20
    completed = sorted(r.times_completed for r in await MissionProgress.all())
    assert completed == [1, 1]


async def test_concurrent_claims_grant_the_reward_once(api: Api, settings: Settings) -> None:
    # given a mission completed whose reward waits to be claimed
    await game.action_type(api, "review.posted")
    mission = await game.mission(api, target=1, autoClaim=False, reward={"points": 50})
    member = await factories.member()
    await game.track(api, member)
    token = factories.token_for(member, settings)
    # when the member claims it ten times at once
    results = await asyncio.gather(
        *(api(game.CLAIM, {"id": mission["id"]}, token=token) for _ in range(10))
    )
    # then one claim grants the 50 points, the others are ALREADY_REDEEMED
    payloads = [r["claimMissionReward"] for r in results]
    assert sorted(p["pointsAwarded"] for p in payloads) == [0] * 9 + [50]
    codes = sorted(e["code"] for p in payloads for e in p["errors"])
    assert codes == ["ALREADY_REDEEMED"] * 9
    assert (await game.me(api, member, settings))["pointsBalance"] == 50
