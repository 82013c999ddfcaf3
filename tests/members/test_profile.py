"""updateMember: members edit their own profile, staff any member's; every change recorded."""

from __future__ import annotations

from datetime import UTC, datetime

from core import clock
from core.settings import Settings
from members.models import Member, ProfileChange
from tests import factories
from tests.conftest import ADMIN_KEY, INTEGRATION_KEY, Api
from tests.members.care_api import ME, MEMBER, update


async def test_a_member_edits_their_own_profile_and_the_change_is_recorded(
    api: Api, settings: Settings
) -> None:
    # given a member with a phone and an email
    clock.freeze(datetime(2026, 11, 29, 3, 0, tzinfo=UTC))
    m = await factories.member(
        external_id="p-1", display_name="Trần Mai", phone="0901234567", email="mai@example.vn"
    )
    token = factories.token_for(m, settings)
    # when they change their name, phone (written the international way) and city
    result = await update(
        api, token, displayName="Trần Thị Mai", phone="+84 912 345 678", city="Đà Nẵng"
    )
    # then the member shows the new values, the phone normalised, the rest untouched
    assert result["errors"] == []
    assert result["member"] == {
        "externalId": "p-1",
        "displayName": "Trần Thị Mai",
        "email": "mai@example.vn",
        "phone": "0912345678",
        "birthday": None,
        "gender": None,
        "city": "Đà Nẵng",
    }
    assert (await api(ME, token=token))["me"]["phone"] == "0912345678"
    # and one change is recorded: who, when, which fields, old -> new
    (change,) = await ProfileChange.filter(member_id=m.id)
    assert change.actor == "MEMBER" and change.changed_at == clock.now()
    assert change.names == ["display_name", "phone", "city"]
    assert change.diff == {
        "display_name": {"old": "Trần Mai", "new": "Trần Thị Mai"},
        "phone": {"old": "0901234567", "new": "0912345678"},
        "city": {"old": None, "new": "Đà Nẵng"},
    }


async def test_staff_edit_a_member_named_by_external_id(api: Api) -> None:
    # given a member with a phone
    await factories.member(external_id="p-2", phone="0901111111")
    # when the integration key and then an admin edit their profile
    for key, phone in ((INTEGRATION_KEY, "0902222222"), (ADMIN_KEY, "0903333333")):
        result = await update(
            api, key, memberExternalId="p-2", phone=phone, birthday="1990-04-12", gender="FEMALE"
        )
        # then each edit is made, and recorded with who made it and what changed
        assert result["errors"] == [] and result["member"]["phone"] == phone
    changes = await ProfileChange.filter(member__external_id="p-2").order_by("id")
    assert [c.actor for c in changes] == ["INTEGRATION", "ADMIN"]
    assert changes[1].names == ["phone"]  # birthday and gender did not change the second time


async def test_omitted_fields_stay_and_explicit_null_clears(api: Api, settings: Settings) -> None:
    # given a member with a profile, and their token
    m = await factories.member(
        external_id="p-3", phone="0901234567", email="a@b.vn", gender="MALE", city="Huế"
    )
    token = factories.token_for(m, settings)
    # when email is cleared with null and nothing else is given
    result = await update(api, token, email=None)
    # then only the email is gone
    assert result["errors"] == []
    me = (await api(ME, token=token))["me"]
    assert me["email"] is None
    assert (me["phone"], me["gender"], me["city"]) == ("0901234567", "MALE", "Huế")
    # and an update that changes nothing records nothing more
    again = await update(api, token, phone="090 123 4567")
    assert again["errors"] == []
    assert await ProfileChange.filter(member_id=m.id).count() == 1


async def test_bad_values_are_refused_by_field_and_nothing_is_written(
    api: Api, settings: Settings
) -> None:
    m = await factories.member(external_id="p-4", display_name="Hoa", phone="0901234567")
    # given a member with a token
    token = factories.token_for(m, settings)
    # and edits each wrong in one field
    cases = [
        ({"displayName": None}, ["input", "displayName"]),
        ({"displayName": "  "}, ["input", "displayName"]),
        ({"email": "not-an-email", "phone": "0912345678"}, ["input", "email"]),
        ({"phone": "12ab"}, ["input", "phone"]),
        ({"birthday": "2999-01-01"}, ["input", "birthday"]),
        ({"city": "x" * 101}, ["input", "city"]),
    ]
    # when the member sends each
    for fields, where in cases:
        result = await update(api, token, **fields)
        # then each is INVALID_INPUT naming that field
        assert result["member"] is None
        assert result["errors"][0]["code"] == "INVALID_INPUT", fields
        assert result["errors"][0]["field"] == where, fields
    # and nothing was written
    stored = await Member.get(id=m.id)
    assert (stored.display_name, stored.phone) == ("Hoa", "0901234567")
    assert await ProfileChange.filter(member_id=m.id).count() == 0


async def test_members_edit_only_themselves_and_staff_must_name_someone(
    api: Api, settings: Settings
) -> None:
    # given two members, one with a token
    me = await factories.member(external_id="p-5")
    await factories.member(external_id="p-6", display_name="Other")
    token = factories.token_for(me, settings)
    # when the member edits the other
    refused = await update(api, token, memberExternalId="p-6", displayName="Hacked")
    # then it is FORBIDDEN naming the member
    assert refused["errors"][0]["code"] == "FORBIDDEN"
    assert refused["errors"][0]["field"] == ["input", "memberExternalId"]
    # and editing themselves is allowed
    own = await update(api, token, memberExternalId="p-5", city="Vũng Tàu")
    assert own["errors"] == [] and own["member"]["city"] == "Vũng Tàu"
    # and staff must name a member who exists; anonymous callers may not edit
    missing = await update(api, INTEGRATION_KEY, city="Hà Nội")
    assert missing["errors"][0]["code"] == "INVALID_INPUT"
    unknown = await update(api, INTEGRATION_KEY, memberExternalId="nobody", city="Hà Nội")
    assert unknown["errors"][0]["code"] == "NOT_FOUND"
    other = (await api.admin(MEMBER, {"e": "p-6"}))["member"]
    assert other["displayName"] == "Other"
    anonymous = await api.raw('mutation { updateMember(input: {city: "x"}) { errors { code } } }')
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_enrolment_takes_a_city(api: Api) -> None:
    # given an empty program
    # when a member enrols with a city
    enrolled = await api.integration(
        """mutation { enrollMember(input: {externalId: "p-7", displayName: "An",
           city: " Cần Thơ "}) { member { city cardCode } errors { code } } }"""
    )
    # then it is kept, trimmed, beside their card code
    assert enrolled["enrollMember"]["member"]["city"] == "Cần Thơ"
    assert len(enrolled["enrollMember"]["member"]["cardCode"]) == 12
