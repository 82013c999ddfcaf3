"""Who may read what: a member sees only themselves; tokens expire and cannot be forged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

from core import clock
from core.settings import Settings
from tests import factories
from tests.conftest import INTEGRATION_KEY, Api


async def test_me_answers_for_the_token_holder_only(api: Api, settings: Settings) -> None:
    # given two members
    hoa = await factories.member(external_id="hoa", display_name="Nguyễn Thị Hoa")
    await factories.member(external_id="binh", display_name="Trần Văn Bình")
    # when Hoa asks `me`
    me = await api("{ me { externalId displayName } }", token=factories.token_for(hoa, settings))
    # then she gets herself
    assert me["me"] == {"externalId": "hoa", "displayName": "Nguyễn Thị Hoa"}


async def test_a_member_token_cannot_read_another_member(api: Api, settings: Settings) -> None:
    # given two members, Hoa with a token
    hoa = await factories.member(external_id="hoa")
    binh = await factories.member(external_id="binh")
    token = factories.token_for(hoa, settings)
    # when Hoa reads Binh by id, by externalId, or the member list
    for query in (
        f'{{ member(id: "{binh.id}") {{ displayName phone }} }}',
        '{ member(externalId: "binh") { displayName } }',
        "{ members(first: 5) { edges { node { externalId } } } }",
    ):
        body = await api.raw(query, token=token)
        # then nothing of Binh comes back: the field is null and refused
        assert not any((body["data"] or {}).values()), query
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", query


async def test_member_cannot_issue_tokens_or_enrol(api: Api, settings: Settings) -> None:
    # given two members, Hoa with a token
    hoa = await factories.member(external_id="hoa")
    await factories.member(external_id="binh")
    token = factories.token_for(hoa, settings)
    # when Hoa issues a token for Binh
    body = await api.raw(
        'mutation { issueMemberToken(memberExternalId: "binh") { token } }', token=token
    )
    # then it is FORBIDDEN, with no data
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["data"] is None


async def test_expired_member_token_is_unauthenticated(api: Api, settings: Settings) -> None:
    # given a token valid for one hour
    clock.freeze(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    hoa = await factories.member()
    token = factories.token_for(hoa, settings, ttl=timedelta(hours=1))
    assert (await api("{ me { id } }", token=token))["me"]["id"] == str(hoa.id)
    # when the hour has passed
    clock.advance(timedelta(hours=1, seconds=1))
    # then the token is refused
    body = await api.raw("{ me { id } }", token=token)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def flip(signature: str) -> str:
    return signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")


async def test_tampered_or_foreign_tokens_are_unauthenticated(api: Api, settings: Settings) -> None:
    # given two members, Hoa with a token
    hoa = await factories.member()
    binh = await factories.member()
    token = factories.token_for(hoa, settings)
    header, payload, signature = token.split(".")
    # and credentials forged from it: a payload swapped for another member's, keeping Hoa's
    # signature, a flipped signature, another secret, none at all, garbage, an unknown key
    other_payload = factories.token_for(binh, settings).split(".")[1]
    forged = {
        "swapped payload": f"{header}.{other_payload}.{signature}",
        "flipped signature": f"{header}.{payload}.{flip(signature)}",
        "other secret": jwt.encode(
            {"sub": str(binh.id), "typ": "member", "exp": 4102444800},
            "not-the-secret-key-0123456789abcdef",
            algorithm="HS256",
        ),
        "unsigned": jwt.encode(
            {"sub": str(binh.id), "typ": "member", "exp": 4102444800}, None, algorithm="none"
        )
        + "",
        "garbage": "a.b.c",
        "unknown api key": "int_this-key-was-never-created",
    }
    # when each is presented
    for label, credential in forged.items():
        body = await api.raw("{ me { id } }", token=credential)
        # then each is UNAUTHENTICATED, with no data
        assert body["data"] is None, label
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", label


async def test_viewer_role_names_each_caller(api: Api, settings: Settings) -> None:
    # given an admin key, an integration key, a member's token and no credential
    hoa = await factories.member()
    roles = {
        "test-admin-key": "ADMIN",
        INTEGRATION_KEY: "INTEGRATION",
        factories.token_for(hoa, settings): "MEMBER",
    }
    # when each asks for its role
    for credential, role in roles.items():
        # then each is named, and no credential has none
        assert (await api("{ viewerRole }", token=credential))["viewerRole"] == role
    assert (await api("{ viewerRole }"))["viewerRole"] is None


async def test_a_bad_credential_is_refused_even_where_anonymous_is_allowed(api: Api) -> None:
    # given a credential that is not one
    # when it asks for its role, which anonymous callers may
    body = await api.raw("{ viewerRole }", token="int_never-created")
    # then it is refused as UNAUTHENTICATED
    assert body["data"] == {"viewerRole": None}
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
