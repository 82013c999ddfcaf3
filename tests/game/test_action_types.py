"""Action types: admins define them; `order` is built in."""

from __future__ import annotations

import pytest

from core.settings import Settings
from tests import factories
from tests.conftest import Api
from tests.game import factories as game

LIST = "{ actionTypes { key name points dailyCap clientReportable } }"


async def test_upsert_creates_then_updates_by_key(api: Api) -> None:
    created = await game.action_type(api, "review.posted", points=10, dailyCap=2)
    assert created == {
        "key": "review.posted",
        "name": "Review.Posted",
        "points": 10,
        "dailyCap": 2,
        "clientReportable": False,
    }
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
    data = await api.admin(
        game.UPSERT_TYPE, {"i": {"key": "app.opened", "name": "App opened"} | fields}
    )
    payload = data["upsertActionType"]
    assert payload["actionType"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("INVALID_INPUT", ["input", field])
    ]
    assert [t["key"] for t in (await api.admin(LIST))["actionTypes"]] == ["order"]


async def test_only_admins_define_and_list_action_types(api: Api, settings: Settings) -> None:
    member = await factories.member()
    token = factories.token_for(member, settings)
    body = await api.raw(game.UPSERT_TYPE, {"i": {"key": "app.opened", "name": "App"}}, token=token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await api.raw(LIST, token="test-integration-key")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
