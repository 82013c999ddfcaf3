"""Input checks at the API boundary (gql/validation.py): each finding of the probe in
issue 12 answers INVALID_INPUT naming the field, writes nothing and logs no huge value."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from graphql import GraphQLObjectType
from tortoise import fields as orm

from core.settings import Settings
from gql import validation
from gql.schema import build_schema, schema
from members.models import Member
from tests import factories
from tests.conftest import ADMIN_KEY, INTEGRATION_KEY, Api
from tests.gql.inputs import codes, fingerprint, no_internal_error, post

BIG = "9223372036854775808"  # 2^63


# -- the one ID parser ---------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1", "2147483647", 5])
def test_well_formed_ids_parse(value: Any) -> None:
    """Given a well-formed ID, when it is parsed, then it is its number."""
    assert validation.parse_id(value, "id") == int(value)


@pytest.mark.parametrize(
    "value", ["0", "-1", "abc", " 1", "1_000", "１２", "1.0", "", "2147483648", BIG, "9" * 40]
)
def test_malformed_or_out_of_range_ids_are_invalid_input(value: str) -> None:
    # given an ID malformed or past 32 bits
    # when it is parsed
    with pytest.raises(validation.InvalidInput) as refused:
        validation.parse_id(value, "input.segmentId")
    # then it is INVALID_INPUT naming the field, without echoing the value
    assert refused.value.field == ["input", "segmentId"]
    assert value.strip() == "" or value not in refused.value.message


def test_64_bit_columns_take_64_bit_ids() -> None:
    # given a 64-bit column
    # when an ID is parsed for it
    # then 2**63 - 1 passes and 2**63 is refused
    assert validation.parse_id("9223372036854775807", "ids", validation.INT64_MAX) == 2**63 - 1
    with pytest.raises(validation.InvalidInput):
        validation.parse_id(BIG, "ids", validation.INT64_MAX)


def test_id_width_comes_from_the_column() -> None:
    # given the ID arguments mapped to their columns
    # when their widths are asked for
    # then each is its column's: 64 bits for notifications and history, 32 for offers
    assert validation.id_max(validation.COLUMNS["Mutation.markNotificationsRead.ids"]) == 2**63 - 1
    assert validation.id_max(validation.NAMES["offerId"]) == 2**31 - 1
    assert validation.id_max(validation.CURSORS["Query.pointsHistory.after"]) == 2**63 - 1


# -- coverage of the served schema -------------------------------------------------------------


def test_every_mapped_coordinate_exists_in_the_served_schema() -> None:
    """No stale entry: a renamed argument must be renamed in the maps too."""
    # given the maps of arguments to columns and cursors, and of input models
    # when each coordinate is looked up in the served schema
    for coordinate in [*validation.COLUMNS, *validation.CURSORS]:
        *owner, name = coordinate.split(".")
        kind = schema._schema.get_type(owner[0])
        # then it is there
        assert kind is not None, coordinate
        if len(owner) == 2:
            assert isinstance(kind, GraphQLObjectType)
            assert name in kind.fields[owner[1]].args, coordinate
        else:
            assert name in kind.fields, coordinate  # type: ignore[union-attr]
    for name in validation.INPUT_MODELS:
        assert schema._schema.get_type(name) is not None, name


def test_string_limits_never_exceed_their_column() -> None:
    # given the string arguments mapped to columns
    # when each is looked up
    for coordinate, column in validation.COLUMNS.items():
        if isinstance(column, orm.CharField):
            owner, name = coordinate.rsplit(".", 1)
            # then its limit is its own column's
            assert validation.column_of(owner, name) is column


def test_every_field_taking_a_checked_scalar_is_guarded() -> None:
    """Built from the schema itself: a field added later is guarded without code."""
    # given the built schema
    built = build_schema()
    checked = {"String", "ID", "Decimal", "BigInt", "DateTime", "JSON"}
    # when its fields taking a checked scalar are walked
    for type_name, kind in built._schema.type_map.items():
        if not isinstance(kind, GraphQLObjectType) or type_name.startswith("__"):
            continue
        for name, field in kind.fields.items():
            if _takes(field.args.values(), checked):
                resolver = field.subscribe or field.resolve
                # then each one's resolver is guarded
                assert getattr(resolver, "__loyalty_guarded__", False) or getattr(
                    getattr(resolver, "__wrapped__", None), "__loyalty_guarded__", False
                ), f"{type_name}.{name}"


def _takes(args: Any, scalars: set[str]) -> bool:
    from tests.gql.inputs import _leaves

    return any(
        scalar in scalars for arg in args for _, scalar in _leaves(arg.type, ("x",), frozenset())
    )


# -- the findings of the probe, through the API ---------------------------------------------


async def refused(
    http: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any],
    token: str,
    field: list[str],
) -> None:
    """INVALID_INPUT naming `field`, no internal error, and no row written."""
    before = await fingerprint()
    body = no_internal_error(await post(http, query, variables, token))
    assert codes(body) == {"INVALID_INPUT"}, body
    named = [e.get("field") for v in (body.get("data") or {}).values() if v for e in v["errors"]]
    named += [(e.get("extensions") or {}).get("field") for e in body.get("errors") or []]
    assert field in named, body
    assert await fingerprint() == before


SPIN = (
    "mutation($w: ID!, $s: String!) { spin(wheelId: $w, clientSeed: $s) { errors { code field } } }"
)
CLAIM = "mutation($o: ID!) { claimVoucher(offerId: $o) { errors { code field } } }"
OFFER = "query($id: ID!) { voucherOffer(id: $id) { id } }"
MISSION_CLAIM = "mutation($m: ID!) { claimMissionReward(missionId: $m) { errors { code field } } }"
MARK = "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) { errors { code field } } }"
HISTORY = "query($a: String) { pointsHistory(after: $a) { edges { cursor } } }"
MEMBER = "query($id: ID) { member(id: $id) { id } }"
MEMBERS = "query($a: String) { members(after: $a) { totalCount } }"
NPS = "mutation($c: String) { submitNps(score: 9, comment: $c) { errors { code field } } }"
TRACK = "mutation($i: TrackActionInput!) { trackAction(input: $i) { errors { code field } } }"
ORDER = "mutation($i: RecordOrderInput!) { recordOrder(input: $i) { errors { code field } } }"
ENROL = "mutation($i: EnrollMemberInput!) { enrollMember(input: $i) { errors { code field } } }"
PROGRAM = "mutation($i: ProgramInput!) { updateProgram(input: $i) { errors { code field } } }"
OFFER_IN = (
    "mutation($i: VoucherOfferInput!) { createVoucherOffer(input: $i) { errors { code field } } }"
)
ADJUST = "mutation($i: AdjustPointsInput!) { adjustPoints(input: $i) { errors { code field } } }"
TOKEN = "mutation($e: String!) { issueMemberToken(memberExternalId: $e) { errors { code field } } }"
BOARD = "query($k: String!) { leaderboard(key: $k) { key } }"
ACTION_TYPE = (
    "mutation($i: ActionTypeInput!) { upsertActionType(input: $i) { errors { code field } } }"
)
ANALYTICS = "query($f: DateTime) { analytics(from: $f) { members } }"


@pytest.fixture
async def member_token(settings: Settings) -> str:
    return factories.token_for(await factories.member(external_id="m-probe"), settings)


@pytest.mark.parametrize("value", [BIG, "99999999999999999999", "0", "-5", "abc", "1e3"])
async def test_ids_past_their_column_or_malformed_are_refused_for_members(
    http: httpx.AsyncClient, member_token: str, value: str
) -> None:
    # given a member, and an ID past its column or malformed
    # when the member sends it to each argument taking an ID
    # then each is INVALID_INPUT naming the argument, and nothing is written (refused)
    await refused(http, OFFER, {"id": value}, member_token, ["id"])
    await refused(http, CLAIM, {"o": value}, member_token, ["offerId"])
    await refused(http, SPIN, {"w": value, "s": "seed"}, member_token, ["wheelId"])
    await refused(http, MISSION_CLAIM, {"m": value}, member_token, ["missionId"])
    await refused(http, MARK, {"ids": ["1", value]}, member_token, ["ids", "1"])


async def test_well_formed_unknown_ids_keep_their_answer(api: Api, member_token: str) -> None:
    # given a member
    # when well-formed IDs of nothing are sent
    # then each answers as for any unknown ID: null or NOT_FOUND
    assert (await api(OFFER, {"id": "2147483647"}, token=member_token))["voucherOffer"] is None
    claimed = await api(CLAIM, {"o": "2147483647"}, token=member_token)
    assert claimed["claimVoucher"]["errors"] == [{"code": "NOT_FOUND", "field": ["offerId"]}]
    assert (await api.integration(MEMBER, {"id": "2147483647"}))["member"] is None
    # and notifications are 64-bit: a large well-formed id is simply not the member's
    marked = await api(MARK, {"ids": ["9223372036854775807"]}, token=member_token)
    assert marked["markNotificationsRead"]["errors"][0]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("cursor", ["OTIyMzM3MjAzNjg1NDc3NTgwOA", "not a cursor", "MToy", "x" * 65])
async def test_cursors_past_their_column_or_malformed_are_refused(
    http: httpx.AsyncClient, member_token: str, cursor: str
) -> None:
    # given a cursor past its column or malformed: "OTIy..." is encode_cursor(2^63); "MToy" is
    # a cursor of two parts
    # when it is sent as the member's history and the admin's member list cursor
    # then each is INVALID_INPUT naming it, and nothing is written (refused)
    await refused(http, HISTORY, {"a": cursor}, member_token, ["after"])
    await refused(http, MEMBERS, {"a": cursor}, ADMIN_KEY, ["after"])
    await refused(http, MEMBER, {"id": BIG}, INTEGRATION_KEY, ["id"])


@pytest.mark.parametrize(
    "bad", ["a\x00b", "\ud800", "a\udfffb", "\x1b[31m", "a\rb", "\x7f", "\x85"]
)
async def test_control_characters_and_lone_surrogates_are_refused_in_every_string(
    http: httpx.AsyncClient, member_token: str, bad: str
) -> None:
    # given a member, another one, and a string with a control character or lone surrogate
    await factories.member(external_id="m-other")
    # when it is sent in each kind of string argument
    # then each is INVALID_INPUT naming the argument, and nothing is written (refused)
    await refused(http, SPIN, {"w": "1", "s": bad}, member_token, ["clientSeed"])
    await refused(http, NPS, {"c": bad}, member_token, ["comment"])
    track = {"type": bad, "idempotencyKey": "k1"}
    await refused(http, TRACK, {"i": track}, member_token, ["input", "type"])
    track = {"type": "visit", "idempotencyKey": "k1", "attributes": {bad: "x"}}
    await refused(http, TRACK, {"i": track}, member_token, ["input", "attributes"])
    track = {"type": "visit", "idempotencyKey": "k1", "attributes": {"a": [bad]}}
    await refused(http, TRACK, {"i": track}, member_token, ["input", "attributes"])
    order = {"orderId": bad, "memberExternalId": "m-other", "amount": "1000"}
    await refused(http, ORDER, {"i": order}, INTEGRATION_KEY, ["input", "orderId"])
    enrol = {"externalId": "m-new", "displayName": bad}
    await refused(http, ENROL, {"i": enrol}, INTEGRATION_KEY, ["input", "displayName"])
    enrol = {"externalId": "m-new", "displayName": "Lan", "tags": ["vip", bad]}
    await refused(http, ENROL, {"i": enrol}, INTEGRATION_KEY, ["input", "tags", "1"])
    adjust = {"memberExternalId": "m-other", "points": 5, "reason": bad, "idempotencyKey": "a"}
    await refused(http, ADJUST, {"i": adjust}, ADMIN_KEY, ["input", "reason"])


async def test_tab_and_newline_are_kept(api: Api, member_token: str) -> None:
    # given a member
    # when they answer NPS with a tab and a newline
    answer = await api(NPS, {"c": "Ngon\tlắm!\nSẽ quay lại."}, token=member_token)
    # then it is accepted
    assert answer["submitNps"]["errors"] == []


async def test_over_long_lookups_are_refused_before_the_query_and_not_logged(
    http: httpx.AsyncClient, member_token: str, caplog: pytest.LogCaptureFixture
) -> None:
    # given strings past the lookups' columns, one of 100,000 characters
    huge = "x" * 100_000
    # when they are sent as lookups
    with caplog.at_level(logging.INFO):
        # then each is INVALID_INPUT naming the argument, before the query (refused)
        await refused(http, BOARD, {"k": "k" * 65}, member_token, ["key"])
        track = {"type": "t" * 65, "idempotencyKey": "k1"}
        await refused(http, TRACK, {"i": track}, member_token, ["input", "type"])
        await refused(http, TOKEN, {"e": huge}, INTEGRATION_KEY, ["memberExternalId"])
        order = {"orderId": "o-1", "memberExternalId": huge, "amount": "1000"}
        await refused(http, ORDER, {"i": order}, INTEGRATION_KEY, ["input", "memberExternalId"])
    # and none is logged
    assert "x" * 1000 not in caplog.text and "k" * 65 not in caplog.text


async def test_strings_up_to_their_column_pass(api: Api) -> None:
    # given an externalId and a display name as long as their columns
    enrol = {"externalId": "e" * 128, "displayName": "d" * 100}
    # when the member is enrolled
    # then it is; one character more is refused naming the field
    assert (await api.integration(ENROL, {"i": enrol}))["enrollMember"]["errors"] == []
    too_long = {"externalId": "e" * 129, "displayName": "d"}
    answer = await api.integration(ENROL, {"i": too_long})
    assert answer["enrollMember"]["errors"] == [
        {"code": "INVALID_INPUT", "field": ["input", "externalId"]}
    ]


@pytest.mark.parametrize("bad", ["NaN", "sNaN", "-NaN", "Infinity", "-Infinity", "1e-30", "1e30"])
async def test_decimals_must_be_finite_and_fit_their_column(
    http: httpx.AsyncClient, bad: str
) -> None:
    # given a decimal that is not finite or does not fit its column
    # when it is sent to each Decimal argument
    for name in ("earnRatePercent", "pointValue", "tierPointUnit", "referralRatePercent"):
        # then each is INVALID_INPUT naming it, and nothing is written (refused)
        await refused(http, PROGRAM, {"i": {name: bad}}, ADMIN_KEY, ["input", name])
    offer = {"name": "Giảm 10%", "pointsCost": 100, "discountType": "PERCENT", "discountValue": bad}
    await refused(http, OFFER_IN, {"i": offer}, ADMIN_KEY, ["input", "discountValue"])
    await factories.member(external_id="m-order")
    order = {"orderId": "o-1", "memberExternalId": "m-order", "amount": bad}
    await refused(http, ORDER, {"i": order}, INTEGRATION_KEY, ["input", "amount"])


async def test_decimals_finer_than_their_column_are_refused_not_rounded(
    http: httpx.AsyncClient, api: Api
) -> None:
    # given a point value finer than its column
    # when it is set
    # then it is refused, not rounded; one as fine as its column passes
    await refused(
        http, PROGRAM, {"i": {"pointValue": "1.00001"}}, ADMIN_KEY, ["input", "pointValue"]
    )
    ok = await api.admin(PROGRAM, {"i": {"pointValue": "1000.5000"}})
    assert ok["updateProgram"]["errors"] == []


@pytest.mark.parametrize("bad", [BIG, "-9223372036854775808", "-9223372036854775809", "1" * 30])
async def test_bigint_past_64_bits_is_refused(http: httpx.AsyncClient, bad: str) -> None:
    # given a BigInt past 64 bits
    # when it is sent as the budget's top-up
    # then it is INVALID_INPUT naming it, and nothing is written (refused)
    await refused(
        http,
        PROGRAM,
        {"i": {"issuanceBudgetTopUp": bad}},
        ADMIN_KEY,
        ["input", "issuanceBudgetTopUp"],
    )


@pytest.mark.parametrize(
    "bad",
    [
        "9999-12-31T23:59:59",
        "9999-12-31T23:59:59-01:00",
        "0001-01-01T00:00:00",
        "0001-01-01T00:00:00+01:00",
        "1999-12-31T23:59:59+00:00",
        "2100-01-01T00:00:01+00:00",
    ],
)
async def test_datetimes_at_the_ends_of_the_calendar_are_refused(
    http: httpx.AsyncClient, member_token: str, bad: str
) -> None:
    # given a DateTime at an end of the calendar, and the database as it is
    before = await fingerprint()
    # when it is sent to a member's action and the admin's analytics
    track = {"type": "visit", "idempotencyKey": "k1", "occurredAt": bad}
    # then each is INVALID_INPUT, never an internal error, and nothing is written
    body = no_internal_error(await post(http, TRACK, {"i": track}, member_token))
    assert codes(body) == {"INVALID_INPUT"}, body
    body = no_internal_error(await post(http, ANALYTICS, {"f": bad}, ADMIN_KEY))
    assert codes(body) == {"INVALID_INPUT"}, body
    assert await fingerprint() == before


async def test_a_refused_role_hears_about_its_role_first(http: httpx.AsyncClient) -> None:
    # given bad input to an admin-only mutation
    # when an anonymous caller and the integration key send it
    body = no_internal_error(await post(http, PROGRAM, {"i": {"pointValue": "NaN"}}))
    # then they hear about their role: UNAUTHENTICATED, FORBIDDEN
    assert codes(body) == {"UNAUTHENTICATED"}
    body = no_internal_error(
        await post(http, PROGRAM, {"i": {"pointValue": "NaN"}}, INTEGRATION_KEY)
    )
    assert codes(body) == {"FORBIDDEN"}


async def test_settings_that_would_stop_earning_are_refused(
    http: httpx.AsyncClient, api: Api
) -> None:
    # given a member who can earn
    await factories.member(external_id="m-earn")
    # when an admin sets a day count near 2^31 or a zone only the host knows
    for name, bad in [
        ("pointsExpiryDays", 3_000_000),
        ("pointsPendingDays", 2**31 - 1),
        ("tierGraceDays", 36_501),
        ("referralWindowDays", 100_000),
        ("timezone", "localtime"),
        ("timezone", "A" * 5000),
    ]:
        await refused(http, PROGRAM, {"i": {name: bad}}, ADMIN_KEY, ["input", name])
    # then orders still earn
    order = {"orderId": "o-1", "memberExternalId": "m-earn", "amount": "100000"}
    assert (await api.integration(ORDER, {"i": order}))["recordOrder"]["errors"] == []
    assert await Member.all().count() == 1


async def test_a_token_whose_member_is_gone_gets_not_found(api: Api, settings: Settings) -> None:
    # given a member's token whose member is gone (e.g. erased by member care while the token
    # is still valid)
    member = await factories.member(external_id="gone")
    token = factories.token_for(member, settings)
    await Member.filter(id=member.id).delete()
    # when it is used
    body = await api.raw("{ voucherOffers { id } }", token=token)
    # then it is NOT_FOUND
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND", body
