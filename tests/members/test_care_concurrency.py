"""Races on PostgreSQL: concurrent consent answers, profile edits and erasures."""

from __future__ import annotations

import asyncio

import pytest

from core.errors import NotFound
from engage import erasure
from members import consents, profile
from members.consents import Channel
from members.models import ConsentChange, Member, MemberConsent, ProfileChange
from tests import backends, factories

pytestmark = pytest.mark.skipif(not backends.ON_POSTGRES, reason="races need PostgreSQL")


async def test_concurrent_first_answers_make_one_row_and_an_exact_log() -> None:
    # given a member who never answered about SMS
    m = await factories.member()
    # when ten answers, alternating, arrive at once
    answers = [True, False] * 5
    await asyncio.gather(
        *(consents.set_consents(m.id, [(Channel.SMS, g)], "MEMBER") for g in answers)
    )
    # then there is one row
    rows = await MemberConsent.filter(member_id=m.id, channel="SMS")
    assert len(rows) == 1
    log = await ConsentChange.filter(member_id=m.id).order_by("id")
    # and every logged change flips the previous state, starting from the default (not granted)
    state = False
    for change in log:
        assert change.granted != state
        state = change.granted
    assert state == rows[0].granted


async def test_concurrent_profile_edits_log_an_unbroken_chain() -> None:
    # given a member with a phone
    m = await factories.member(phone="0900000000")
    # when ten edits of the phone arrive at once
    phones = [f"09000000{i:02d}" for i in range(1, 11)]
    await asyncio.gather(
        *(profile.update_profile(m.id, {"phone": p}, "INTEGRATION") for p in phones)
    )
    # then the log is one unbroken chain, each edit's old value the previous one's new
    log = await ProfileChange.filter(member_id=m.id).order_by("id")
    assert len(log) == 10
    chain = ["0900000000"] + [c.diff["phone"]["new"] for c in log]
    assert [c.diff["phone"]["old"] for c in log] == chain[:-1]
    assert (await Member.get(id=m.id)).phone == chain[-1]


async def test_concurrent_erasures_erase_once() -> None:
    # given a member
    await factories.member(external_id="race-gone")
    # when five erasures of them run at once
    results = await asyncio.gather(
        *(erasure.erase("race-gone", "ADMIN") for _ in range(5)), return_exceptions=True
    )
    # then one erases them, the others find nobody; their consents were withdrawn once
    done = [r for r in results if isinstance(r, Member)]
    refused = [r for r in results if isinstance(r, NotFound)]
    assert len(done) == 1 and len(refused) == 4
    assert await ConsentChange.filter(channel="PUSH").count() == 1
