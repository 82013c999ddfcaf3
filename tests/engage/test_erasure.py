"""eraseMember (Decree 13/2023): personal data goes, the books and analytics stay right."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from core import clock, pubsub
from core.settings import Settings
from engage import background
from engage.models import NpsResponse
from game.leaderboards import store
from game.models import Action
from members import consents
from members.consents import Channel
from members.models import Member, ProfileChange
from rewards.ledger.models import Posting
from rewards.orders.models import Order
from tests import factories
from tests.conftest import ADMIN_KEY, INTEGRATION_KEY, Api
from tests.engage.factories import tell
from tests.game.factories import board, track
from tests.members.care_api import BY_CARD, ERASE, EXPORT, MEMBER, SET_CONSENTS, UPDATE, update
from tests.rewards.ledger_api import audit, record, refund

ANALYTICS = "{ analytics { members pointsIssued nps { responses score } } }"


async def erase(api: Api, external_id: str, key: str = ADMIN_KEY) -> dict:
    return (await api(ERASE, {"e": external_id}, token=key))["eraseMember"]  # type: ignore[no-any-return]


async def test_erasure_removes_personal_data_and_keeps_the_books(
    api: Api, settings: Settings
) -> None:
    # given a member with a whole history, a tracked action with attributes, on a leaderboard
    await store.refresh_zone()
    story = await tell(api, settings)
    m = story.member
    assert (await track(api, m, attributes={"store": "Quận 1", "note": "Lan, bàn 4"}))[
        "errors"
    ] == []
    await background.drain()
    card = (await Member.get(id=m.id)).card_code
    postings = await Posting.filter(member_id=m.id).count()
    before = {"audit": await audit(api), "analytics": (await api.admin(ANALYTICS))["analytics"]}
    top = (await board(api))["entries"]
    assert top[0]["member"]["displayName"] == "Nguyễn Thị Lan"
    # when an admin erases the member, listening on the member's channel
    async with pubsub.hub.listen(f"member:{m.id}") as heard:
        result = await erase(api, "care-1")
        published = pubsub.messages(await asyncio.wait_for(heard.get(), 5))
    # then it is done, and every process is told to close the member's sockets
    assert result == {"erased": True, "errors": []}
    assert {"type": "Revoked"} in published
    # and the personal data is gone
    row = await Member.get(id=m.id)
    assert row.erased_at is not None and row.external_id.startswith("erased:")
    assert row.display_name == "Thành viên đã xoá"
    assert (row.phone, row.email, row.birthday, row.gender, row.city, row.card_code) == (
        None,
        None,
        None,
        None,
        None,
        None,
    )
    assert row.tags == [] and row.leaderboard_hidden is True
    assert row.referral_code != m.referral_code
    (answer,) = await NpsResponse.filter(member_id=m.id)
    assert answer.score == 9 and answer.comment is None
    (change,) = await ProfileChange.filter(member_id=m.id)
    assert change.names == ["phone"] and change.diff is None
    assert all(a.attributes is None for a in await Action.filter(member_id=m.id))
    assert await consents.granted([m.id], Channel.PUSH) == set()
    assert (await api.integration(BY_CARD, {"c": card}))["memberByCard"] is None
    # and the books, orders and analytics are as they were, under the pseudonym
    assert await Posting.filter(member_id=m.id).count() == postings
    assert await Order.filter(member_id=m.id).count() == 2
    assert await audit(api) == before["audit"] and before["audit"]["balanced"] is True
    assert (await api.admin(ANALYTICS))["analytics"] == before["analytics"]
    # and the leaderboard keeps the place, anonymously
    entry = (await board(api))["entries"][0]
    assert entry["score"] == top[0]["score"] and entry["member"]["displayName"] == "Anonymous"
    assert "Lan" not in json.dumps(entry)


async def test_an_erased_member_cannot_be_reached_and_may_enrol_again(
    api: Api, settings: Settings
) -> None:
    # given a member with a token
    m = await factories.member(external_id="gone-1", display_name="Phan Văn Tú")
    token = factories.token_for(m, settings)
    # when an admin erases them
    assert (await erase(api, "gone-1"))["erased"] is True
    # then they are found nowhere: not by externalId, card or token
    assert (await api.admin(MEMBER, {"e": "gone-1"}))["member"] is None
    assert (await api.admin(BY_CARD, {"c": m.card_code}))["memberByCard"] is None
    listed = await api.admin("{ members { totalCount edges { node { id } } } }")
    assert listed["members"]["totalCount"] == 0
    # and the token is refused as an expired one is, whatever it asks
    for query, variables in (
        ("{ me { id } }", {}),
        (UPDATE, {"i": {"city": "Huế"}}),
        (SET_CONSENTS, {"c": [{"channel": "SMS", "granted": True}]}),
        (EXPORT, {}),
    ):
        refused = await api.raw(query, variables, token=token)
        assert refused["data"] is None or not any(refused["data"].values())
        assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    staff_edit = await update(api, INTEGRATION_KEY, memberExternalId="gone-1", city="Huế")
    assert staff_edit["errors"][0]["code"] == "NOT_FOUND"
    # and a second erasure finds nobody
    again = await erase(api, "gone-1")
    assert again["erased"] is False and again["errors"][0]["code"] == "NOT_FOUND"
    # and when the same externalId enrols again, it is a new member with a new card
    fresh = await factories.member(external_id="gone-1", display_name="Phan Văn Tú")
    assert fresh.id != m.id and fresh.card_code != m.card_code
    assert (await api.admin(MEMBER, {"e": "gone-1"}))["member"]["cardCode"] == fresh.card_code


async def test_refunds_of_an_erased_members_orders_still_balance(api: Api) -> None:
    # given a member's order
    m = await factories.member(external_id="gone-2")
    assert (await record(api, "HD-9001", "gone-2", 500000))["errors"] == []
    # and the member erased
    await erase(api, "gone-2")
    # when the shop refunds the order after the erasure
    done = await refund(api, "HD-9001", "R-9001")
    # then points come back out and the books balance
    assert done["errors"] == [] and done["pointsReversed"] == 25
    assert (await audit(api))["balanced"] is True
    assert await Posting.filter(member_id=m.id, reason="REFUND").count() == 1


async def test_only_admins_erase(api: Api, settings: Settings) -> None:
    # given a member
    m = await factories.member(external_id="keep-1")
    # when the integration key and the member themselves try to erase them
    for token in (INTEGRATION_KEY, factories.token_for(m, settings)):
        body = await api.raw(ERASE, {"e": "keep-1"}, token=token)
        # then both are FORBIDDEN and the member stays
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await Member.get(id=m.id)).erased_at is None
    # and erasing an unknown externalId is NOT_FOUND naming it
    unknown = await erase(api, "nobody")
    assert unknown["errors"][0] == {
        "code": "NOT_FOUND",
        "field": ["memberExternalId"],
        "message": "no member with externalId 'nobody'",
    }


async def test_an_erased_members_old_token_stops_working_for_its_actions(
    api: Api, settings: Settings
) -> None:
    # given a member token issued for a month
    clock.freeze(clock.now())
    m = await factories.member(external_id="gone-3")
    token = factories.token_for(m, settings, timedelta(days=30))
    await erase(api, "gone-3")
    # when the old token asks for anything, a read, a write or a spend
    for query in (
        'mutation { trackAction(input: {type: "x", idempotencyKey: "k1"}) { errors { code } } }',
        'mutation { submitNps(score: 9, comment: "x") { errors { code } } }',
        "{ myNotifications { id } }",
        "{ pointsHistory { edges { cursor } } }",
    ):
        refused = await api.raw(query, token=token)
        # then it is refused before any resolver runs, and nothing is written
        assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", query
    assert await NpsResponse.filter(member_id=m.id).count() == 0
    assert await Action.filter(member_id=m.id).count() == 0
