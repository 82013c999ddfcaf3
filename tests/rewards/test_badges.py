"""Badges: definitions, at most one award per member, secret ones hidden until earned."""

from __future__ import annotations

from typing import Any

import pytest

from core.settings import Settings
from rewards.badges.models import Badge, BadgeAward
from tests import factories
from tests.conftest import Api
from tests.game import factories as game

AWARD = """mutation($m: String!, $b: String!) { awardBadge(memberExternalId: $m, badgeCode: $b) {
  badge { code } errors { code field } } }"""
LIST = "{ badges { code secret } }"


async def test_upsert_creates_then_updates(api: Api) -> None:
    # given no badge
    # when an admin upserts one
    data = await api.admin(
        game.UPSERT_BADGE,
        {"i": {"code": "reviewer", "name": "Reviewer", "iconUrl": "https://x.test/r.png"}},
    )
    # then it is created as given
    assert data["upsertBadge"]["badge"] == {
        "code": "reviewer",
        "name": "Reviewer",
        "description": None,
        "iconUrl": "https://x.test/r.png",
        "secret": False,
    }
    # and when it is upserted again by its code, it is updated, not doubled
    await game.badge(api, "reviewer", name="Top reviewer", secret=True)
    badge = await Badge.get(code="reviewer")
    assert (badge.name, badge.secret) == ("Top reviewer", True)
    assert await Badge.all().count() == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"code": "Top Reviewer"}, "code"),
        ({"name": ""}, "name"),
        ({"iconUrl": "javascript:alert(1)"}, "iconUrl"),
    ],
)
async def test_bad_badges_are_refused(api: Api, fields: dict[str, Any], field: str) -> None:
    # given a badge input wrong in one field
    # when an admin upserts it
    data = await api.admin(
        game.UPSERT_BADGE, {"i": {"code": "reviewer", "name": "Reviewer"} | fields}
    )
    # then it is INVALID_INPUT naming that field, and nothing is written
    assert [(e["code"], e["field"]) for e in data["upsertBadge"]["errors"]] == [
        ("INVALID_INPUT", ["input", field])
    ]
    assert await Badge.all().count() == 0


async def test_a_badge_is_held_at_most_once(api: Api, settings: Settings) -> None:
    # given a badge and a member
    await game.badge(api, "vip")
    member = await factories.member()
    # when an admin awards it to the member twice
    for _ in range(2):
        data = await api.admin(AWARD, {"m": member.external_id, "b": "vip"})
        # then both answer with the badge, and the member holds it once
        assert data["awardBadge"] == {"badge": {"code": "vip"}, "errors": []}
    assert [b["badge"]["code"] for b in (await game.me(api, member, settings))["badges"]] == ["vip"]
    assert await BadgeAward.all().count() == 1


async def test_award_names_what_is_missing(api: Api) -> None:
    # given a badge and a member
    await game.badge(api, "vip")
    member = await factories.member()
    # when an admin awards an unknown badge, or to an unknown member
    data = await api.admin(AWARD, {"m": member.external_id, "b": "ghost"})
    # then each is NOT_FOUND naming what is missing
    assert data["awardBadge"]["errors"] == [{"code": "NOT_FOUND", "field": ["badgeCode"]}]
    data = await api.admin(AWARD, {"m": "nobody", "b": "vip"})
    assert data["awardBadge"]["errors"] == [{"code": "NOT_FOUND", "field": ["memberExternalId"]}]


async def test_secret_badges_stay_hidden_from_members_until_earned(
    api: Api, settings: Settings
) -> None:
    # given an open badge, a secret one, and a member
    await game.badge(api, "open")
    await game.badge(api, "hidden", secret=True)
    member = await factories.member()
    token = factories.token_for(member, settings)
    # when the member lists the badges
    # then the secret one is hidden from them, not from admins
    assert (await api(LIST, token=token))["badges"] == [{"code": "open", "secret": False}]
    assert [b["code"] for b in (await api.admin(LIST))["badges"]] == ["open", "hidden"]
    # and once the member earns it, they see it; others still do not
    await api.admin(AWARD, {"m": member.external_id, "b": "hidden"})
    assert [b["code"] for b in (await api(LIST, token=token))["badges"]] == ["open", "hidden"]
    other = factories.token_for(await factories.member(), settings)
    assert [b["code"] for b in (await api(LIST, token=other))["badges"]] == ["open"]


async def test_only_admins_award_badges(api: Api, settings: Settings) -> None:
    # given a badge and a member
    await game.badge(api, "vip")
    member = await factories.member()
    # when the member awards it to themselves
    body = await api.raw(
        AWARD, {"m": member.external_id, "b": "vip"}, token=factories.token_for(member, settings)
    )
    # then it is FORBIDDEN
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
