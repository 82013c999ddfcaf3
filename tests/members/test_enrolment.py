"""Enrolment, tokens and lookups through the API."""

from __future__ import annotations

from members.models import Member
from tests.conftest import Api

ENROL = """
mutation($input: EnrollMemberInput!) {
  enrollMember(input: $input) {
    member { id externalId displayName phone email referralCode tags }
    errors { code message field }
  }
}"""

TOKEN = """
mutation($ext: String!) {
  issueMemberToken(memberExternalId: $ext) { token expiresAt errors { code field } }
}"""


async def test_integration_enrols_member_whose_token_answers_me(api: Api) -> None:
    # given an integration key
    # when it enrols a member and issues a token
    data = await api.integration(
        ENROL,
        {
            "input": {
                "externalId": "pos:0001",
                "displayName": "Trần Thị Mai",
                "phone": "+84 901 234 567",
                "email": "Mai@Example.vn",
                "tags": ["vip", "hcm"],
            }
        },
    )
    member = data["enrollMember"]["member"]
    token = (await api.integration(TOKEN, {"ext": "pos:0001"}))["issueMemberToken"]["token"]
    # then the token answers `me` with that member
    me = await api("{ me { id externalId displayName } viewerRole }", token=token)
    assert me["me"] == {"id": member["id"], "externalId": "pos:0001", "displayName": "Trần Thị Mai"}
    assert me["viewerRole"] == "MEMBER"
    assert member["phone"] == "0901234567"
    assert member["email"] == "mai@example.vn"
    assert len(member["referralCode"]) == 8


async def test_repeated_external_id_is_already_exists(api: Api) -> None:
    # given a member enrolled
    payload = {"input": {"externalId": "dup-1", "displayName": "Lê Văn A"}}
    await api.integration(ENROL, payload)
    # when the same externalId enrols again
    again = (await api.integration(ENROL, payload))["enrollMember"]
    # then it is ALREADY_EXISTS naming the externalId
    assert again["member"] is None
    assert again["errors"] == [
        {
            "code": "ALREADY_EXISTS",
            "message": again["errors"][0]["message"],
            "field": ["input", "externalId"],
        }
    ]


async def test_bad_input_names_the_field_and_writes_nothing(api: Api) -> None:
    # given enrolments each wrong in one field
    cases = {
        "externalId": {"externalId": "bad id!", "displayName": "x"},
        "displayName": {"externalId": "ok-1", "displayName": "   "},
        "email": {"externalId": "ok-2", "displayName": "x", "email": "nope"},
        "phone": {"externalId": "ok-3", "displayName": "x", "phone": "12ab"},
        "birthday": {"externalId": "ok-4", "displayName": "x", "birthday": "2999-01-01"},
    }
    # when each is sent
    for field, value in cases.items():
        result = (await api.integration(ENROL, {"input": value}))["enrollMember"]
        # then each is INVALID_INPUT naming that field, and nobody is enrolled
        assert result["errors"][0]["code"] == "INVALID_INPUT", field
        assert result["errors"][0]["field"] == ["input", field]
    assert await Member.all().count() == 0


async def test_member_token_cannot_use_staff_fields(api: Api) -> None:
    # given two members, one with a token
    await api.integration(ENROL, {"input": {"externalId": "a-1", "displayName": "A"}})
    await api.integration(ENROL, {"input": {"externalId": "b-1", "displayName": "B"}})
    token = (await api.integration(TOKEN, {"ext": "a-1"}))["issueMemberToken"]["token"]
    # when the member reads the other, or changes the program
    body = await api.raw('{ member(externalId: "b-1") { id } }', token=token)
    # then each is FORBIDDEN
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await api.raw(
        'mutation { updateProgram(input: {name: "x"}) { errors { code } } }', token=token
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # and without a credential, me is UNAUTHENTICATED
    body = await api.raw("{ me { id } }")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_every_member_gets_a_unique_unambiguous_referral_code(api: Api) -> None:
    from core.ids import UNAMBIGUOUS
    from tests import factories

    # given an empty program
    # when 60 members enrol
    for _ in range(60):
        await factories.member()
    codes = [m.referral_code for m in await Member.all()]
    # then each has a referral code of its own, of 8 unambiguous characters
    assert len(set(codes)) == 60
    assert all(len(c) == 8 and set(c) <= set(UNAMBIGUOUS) for c in codes)
