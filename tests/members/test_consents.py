"""Consent per channel: defaults, answers by the member or staff, the change log, and the
set-based recipient filters the senders use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core import clock
from core.settings import Settings
from members import consents
from members.consents import Channel
from members.models import ConsentChange, Member
from tests import factories
from tests.conftest import ADMIN_KEY, INTEGRATION_KEY, Api
from tests.members.care_api import CONSENTS_OF, MY_CONSENTS, SET_CONSENTS
from tests.statements import counting

T0 = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


async def test_a_new_member_has_push_only(api: Api) -> None:
    # given a new member
    await factories.member(external_id="c-1")
    # when an admin reads their consents
    found = (await api.admin(CONSENTS_OF, {"e": "c-1"}))["member"]["consents"]
    # then only PUSH is granted, none answered yet
    assert found == [
        {"channel": "PUSH", "granted": True, "updatedAt": None},
        {"channel": "SMS", "granted": False, "updatedAt": None},
        {"channel": "EMAIL", "granted": False, "updatedAt": None},
        {"channel": "ZALO", "granted": False, "updatedAt": None},
    ]


async def test_member_grants_sms_staff_withdraws_it_and_both_are_recorded(
    api: Api, settings: Settings
) -> None:
    # given a member with a token
    clock.freeze(T0)
    m = await factories.member(external_id="c-2")
    token = factories.token_for(m, settings, timedelta(days=30))
    # when the member grants SMS and Zalo
    granted = await api(
        SET_CONSENTS,
        {"c": [{"channel": "SMS", "granted": True}, {"channel": "ZALO", "granted": True}]},
        token=token,
    )
    # then the member's answers are kept, with their time
    payload = granted["setConsents"]
    assert payload["errors"] == []
    by_channel = {c["channel"]: c for c in payload["member"]["consents"]}
    assert by_channel["SMS"] == {"channel": "SMS", "granted": True, "updatedAt": T0.isoformat()}
    assert by_channel["ZALO"]["granted"] is True and by_channel["EMAIL"]["granted"] is False
    # and later the shop's staff record that they withdrew SMS (and confirmed PUSH)
    clock.advance(timedelta(days=3))
    await api(
        SET_CONSENTS,
        {
            "e": "c-2",
            "c": [{"channel": "SMS", "granted": False}, {"channel": "PUSH", "granted": True}],
        },
        token=INTEGRATION_KEY,
    )
    # then the member sees the staff's answer
    mine = {c["channel"]: c for c in (await api(MY_CONSENTS, token=token))["me"]["consents"]}
    assert mine["SMS"]["granted"] is False and mine["ZALO"]["granted"] is True
    assert mine["PUSH"] == {
        "channel": "PUSH",
        "granted": True,
        "updatedAt": clock.now().isoformat(),
    }
    # and every change is in the log with its time and who made it (PUSH did not change)
    log = await ConsentChange.filter(member_id=m.id).order_by("id")
    assert [(c.channel, c.granted, c.actor, c.changed_at) for c in log] == [
        ("SMS", True, "MEMBER", T0),
        ("ZALO", True, "MEMBER", T0),
        ("SMS", False, "INTEGRATION", T0 + timedelta(days=3)),
    ]


async def test_bad_answers_write_nothing(api: Api, settings: Settings) -> None:
    # given two members, one with a token
    m = await factories.member(external_id="c-3")
    other = await factories.member(external_id="c-4")
    token = factories.token_for(m, settings)
    # when the member answers SMS twice in one call
    twice = await api(
        SET_CONSENTS,
        {"c": [{"channel": "SMS", "granted": True}, {"channel": "SMS", "granted": False}]},
        token=token,
    )
    # then it is refused naming the answers
    assert twice["setConsents"]["errors"][0] == {
        "code": "INVALID_INPUT",
        "field": ["consents"],
        "message": "each channel may be given once",
    }
    # and when they answer for the other member, it is FORBIDDEN
    someone_else = await api(
        SET_CONSENTS,
        {"e": other.external_id, "c": [{"channel": "SMS", "granted": True}]},
        token=token,
    )
    assert someone_else["setConsents"]["errors"][0]["code"] == "FORBIDDEN"
    # and when an admin answers without naming a member, the member is named as missing
    nobody = await api(SET_CONSENTS, {"c": [{"channel": "SMS", "granted": True}]}, token=ADMIN_KEY)
    assert nobody["setConsents"]["errors"][0]["field"] == ["memberExternalId"]
    # and an unknown channel is INVALID_INPUT
    unknown = await api.raw(
        "mutation { setConsents(consents: [{channel: FAX, granted: true}]) { errors { code } } }",
        token=token,
    )
    assert unknown["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    # and nothing was written
    assert await ConsentChange.all().count() == 0


async def test_granted_selects_recipients_in_one_query() -> None:
    # given members who answered differently, and one who never answered
    members = [await factories.member() for _ in range(3)]
    await consents.set_consents(members[1].id, [(Channel.SMS, True)], "MEMBER")
    await consents.set_consents(members[2].id, [(Channel.PUSH, False)], "MEMBER")
    ids = [m.id for m in members]
    # when senders ask who may receive each channel
    with counting() as found:
        push = await consents.granted(ids, Channel.PUSH)
    statements = found.texts
    # then the answer comes from one statement, defaults included
    assert len(statements) == 1
    assert push == {ids[0], ids[1]}
    assert await consents.granted(ids, Channel.SMS) == {ids[1]}
    assert await consents.granted(ids, Channel.EMAIL) == set()
    # and the same rule works as a filter inside any member query
    in_sql = await Member.filter(consents.granted_filter(Channel.PUSH)).values_list("id", flat=True)
    assert set(in_sql) == {ids[0], ids[1]}
