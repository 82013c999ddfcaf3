"""Stamp cards: the endowed head start, one stamp a day, a reward and a fresh card."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core import clock
from core.settings import Settings
from game.models import StampCard
from tests import factories
from tests.conftest import Api
from tests.game import factories as game

CREATE = """mutation($i: StampCardInput!) { createStampCard(input: $i) {
  stampCard { id name actionType slots prestamped onePerDay reward { points } }
  errors { code field } } }"""
MINE = "{ myStampCards { card { name } stamps slots completedCount } }"
MORNING = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)


def card_input(**fields: Any) -> dict[str, Any]:
    return {
        "name": "Coffee card",
        "actionType": "coffee.bought",
        "slots": 10,
        "prestamped": 2,
        "reward": {"points": 30},
    } | fields


async def mine(api: Api, member: Any, settings: Settings) -> list[dict[str, Any]]:
    token = factories.token_for(member, settings)
    return (await api(MINE, token=token))["myStampCards"]


async def test_ten_slots_two_prestamped_completes_after_eight_stamps(
    api: Api, settings: Settings
) -> None:
    # given a card of ten slots, two of them stamped on the house
    await game.action_type(api, "coffee.bought")
    created = (await api.admin(CREATE, {"i": card_input()}))["createStampCard"]
    assert created["errors"] == []
    assert created["stampCard"]["prestamped"] == 2
    # and a member, who holds the head start
    member = await factories.member()
    assert await mine(api, member, settings) == [
        {"card": {"name": "Coffee card"}, "stamps": 2, "slots": 10, "completedCount": 0}
    ]
    # when they buy seven coffees
    for _ in range(7):
        await game.track(api, member, "coffee.bought")
    # then the card holds nine stamps, no reward yet
    [card] = await mine(api, member, settings)
    assert (card["stamps"], card["completedCount"]) == (9, 0)
    assert (await game.me(api, member, settings))["pointsBalance"] == 0
    # and when the eighth fills it, the reward is paid and a fresh card starts, head start too
    await game.track(api, member, "coffee.bought")  # the eighth stamp fills it
    [card] = await mine(api, member, settings)
    assert (card["stamps"], card["completedCount"]) == (2, 1)  # a fresh card, head start too
    assert (await game.me(api, member, settings))["pointsBalance"] == 30


async def test_one_per_day_stamps_once_per_local_day(api: Api, settings: Settings) -> None:
    # given a card of one stamp a day, and a member
    clock.freeze(MORNING)
    await game.action_type(api, "coffee.bought")
    await api.admin(CREATE, {"i": card_input(onePerDay=True, prestamped=0)})
    member = await factories.member()
    # when they buy two coffees today and one tomorrow
    await game.track(api, member, "coffee.bought")
    await game.track(api, member, "coffee.bought")
    # then the first of each day stamps the card
    assert (await mine(api, member, settings))[0]["stamps"] == 1
    clock.advance(timedelta(days=1))
    await game.track(api, member, "coffee.bought")
    assert (await mine(api, member, settings))[0]["stamps"] == 2


async def test_other_actions_do_not_stamp(api: Api, settings: Settings) -> None:
    # given a coffee card, and a member
    await game.action_type(api, "coffee.bought")
    await game.action_type(api, "app.opened")
    await api.admin(CREATE, {"i": card_input()})
    member = await factories.member()
    # when the member opens the app
    await game.track(api, member, "app.opened")
    # then the card holds its head start only
    assert (await mine(api, member, settings))[0]["stamps"] == 2


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"slots": 0}, "INVALID_INPUT", ["input", "slots"]),
        ({"slots": 101}, "INVALID_INPUT", ["input", "slots"]),
        ({"prestamped": 10}, "INVALID_INPUT", ["input", "prestamped"]),
        ({"prestamped": -1}, "INVALID_INPUT", ["input", "prestamped"]),
        ({"actionType": "nope.never"}, "NOT_FOUND", ["input", "actionType"]),
        ({"reward": {}}, "INVALID_INPUT", ["input", "reward"]),
        ({"name": " "}, "INVALID_INPUT", ["input", "name"]),
    ],
)
async def test_bad_cards_name_the_field_and_write_nothing(
    api: Api, fields: dict[str, Any], code: str, field: list[str]
) -> None:
    # given an action type
    await game.action_type(api, "coffee.bought")
    # when an admin creates a card wrong in one field
    payload = (await api.admin(CREATE, {"i": card_input(**fields)}))["createStampCard"]
    # then it is refused with the code naming that field, and nothing is written
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert await StampCard.all().count() == 0


async def test_admins_list_cards(api: Api) -> None:
    # given a card
    await game.action_type(api, "coffee.bought")
    await api.admin(CREATE, {"i": card_input()})
    # when an admin lists the cards
    listed = (await api.admin("{ stampCards { name slots } }"))["stampCards"]
    # then it is there
    assert listed == [{"name": "Coffee card", "slots": 10}]
