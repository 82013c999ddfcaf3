"""Action types: admins define them; `order` is built in."""

from __future__ import annotations

import pytest

from core.settings import Settings
from tests import factories
from tests.conftest import Api
from tests.game import factories as game

LIST = "{ actionTypes { key name points dailyCap clientReportable } }"


async def test_upsert_creates_then_updates_by_key(api: Api) -> None:
    # given no action type but the built-in order
    # when an admin upserts review.posted
    created = await game.action_type(api, "review.posted", points=10, dailyCap=2)
    # then it is created as given
    assert created == {
        "key": "review.posted",
        "name": "Review.Posted",
        "points": 10,
        "dailyCap": 2,
        "clientReportable": False,
    }
    # and when it is upserted again by its key, it is updated, not doubled
    await game.action_type(api, "review.posted", points=15, clientReportable=True)
    listed = (await api.admin(LIST))["actionTypes"]
    assert listed == [
        {"key": "order", "name": "Order", "points": 0, "dailyCap": None, "clientReportable": False},
        {
            "key": "review.posted",
            "name": "Review.Posted",
            "points": 15,
            "dailyCap": None,
            "clientReportable": True,
        },
    ]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"key": "Review Posted"}, "key"),
        ({"key": "order"}, "key"),
        ({"name": "  "}, "name"),
        ({"points": -1}, "points"),
        ({"dailyCap": -1}, "dailyCap"),
    ],
)
async def test_bad_input_names_the_field_and_writes_nothing(
    api: Api, fields: dict[str, object], field: str
) -> None:
    # given an action type input wrong in one field
    # when an admin upserts it
    data = await api.admin(
        game.UPSERT_TYPE, {"i": {"key": "app.opened", "name": "App opened"} | fields}
    )
    # then it is INVALID_INPUT naming that field, and nothing is written
    payload = data["upsertActionType"]
    assert payload["actionType"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("INVALID_INPUT", ["input", field])
    ]
    assert [t["key"] for t in (await api.admin(LIST))["actionTypes"]] == ["order"]


async def test_only_admins_define_and_list_action_types(api: Api, settings: Settings) -> None:
    # given a member
    member = await factories.member()
    token = factories.token_for(member, settings)
    # when the member defines an action type, and the integration key lists them
    body = await api.raw(game.UPSERT_TYPE, {"i": {"key": "app.opened", "name": "App"}}, token=token)
    # then both are FORBIDDEN
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await api.raw(LIST, token="test-integration-key")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
