"""Races on PostgreSQL: concurrent batches over the same members lock in one order, and
each action still has one effect."""

from __future__ import annotations

import asyncio

import pytest

from core.settings import Settings
from game.models import Action
from tests import backends, factories
from tests.conftest import Api
from tests.game import factories as game
from tests.game.factories import BATCH, item

pytestmark = pytest.mark.skipif(not backends.ON_POSTGRES, reason="races need PostgreSQL")


async def test_overlapping_batches_and_single_calls_record_each_action_once(
    api: Api, settings: Settings
) -> None:
    # given 20 members and a mission of 2 reviews
    await game.action_type(api, "review.posted", points=10)
    await game.mission(api, title="Two reviews", target=2, reward={"points": 5})
    members = [await factories.member() for _ in range(20)]
    forward = [item(m, f"k{k}") for m in members for k in range(2)]
    # when four batches with the same actions, in opposite orders, race single calls
    batches = [forward, forward[::-1], forward[1::2] + forward[::2], forward]
    singles = [item(m, "k0") for m in members[:10]]
    found = await asyncio.gather(
        *(api.integration(BATCH, {"i": b}) for b in batches),
        *(api.integration(game.TRACK, {"i": s}) for s in singles),
    )
    # then nothing failed, and each (member, key) was new exactly once
    results = [r["trackActions"]["results"] for r in found[: len(batches)]]
    results += [[r["trackAction"]] for r in found[len(batches) :]]
    reported = [*batches, *[[s] for s in singles]]
    news: dict[tuple[str, str], int] = {}
    for sent, answers in zip(reported, results, strict=True):
        for one, answer in zip(sent, answers, strict=True):
            assert answer["errors"] == [], answer
            assert answer["pointsAwarded"] == 10
            name = (one["memberExternalId"], one["idempotencyKey"])
            news[name] = news.get(name, 0) + (not answer["duplicate"])
    assert len(news) == 40 and set(news.values()) == {1}
    assert await Action.all().count() == 40
    for m in members:
        assert (await game.me(api, m, settings))["pointsBalance"] == 10 + 10 + 5
