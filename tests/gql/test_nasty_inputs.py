"""Property: whatever nasty value a client puts in any String, ID, Decimal, BigInt or
DateTime argument of the served schema (input fields and list items included), the answer
is a contract code, never an internal error, and the database is left as it was.

The arguments are read from the served schema, so a field added later is sent these values
without editing this test; the caller is one the field's documented role lets in, so the
value reaches the checks behind the role."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.settings import Settings
from tests import factories
from tests.conftest import ADMIN_KEY, INTEGRATION_KEY
from tests.gql.inputs import (
    Leaf,
    codes,
    documented_roles,
    fingerprint,
    leaves,
    no_internal_error,
    post,
    request_for,
)

LEAVES = leaves({"String", "ID", "Decimal", "BigInt", "DateTime"})

UNSTORABLE = ["\x00", "\ud800", "\udbff", "\udc00", "\x01", "\x08", "\x0b", "\x1b", "\x7f", "\x9f"]
NASTY: dict[str, st.SearchStrategy[Any]] = {
    "String": st.one_of(
        st.builds(
            lambda head, bad, tail: head + bad + tail,
            st.text(max_size=10),
            st.sampled_from(UNSTORABLE),
            st.text(max_size=10),
        ),
        st.sampled_from(["x" * 100_000, "é" * 20_000, "\ud83d", "a\udd00b"]),
    ),
    "ID": st.one_of(
        st.sampled_from(
            ["0", "-1", "9223372036854775808", "9" * 30, "abc", "１２", " 7", "7 ", ""]
        ),
        st.integers(min_value=2**63, max_value=2**80).map(str),
        st.integers(max_value=0).map(str),
    ),
    "Decimal": st.one_of(
        st.sampled_from(["NaN", "sNaN", "-NaN", "Infinity", "-Infinity", "1e-30", "-1e-30"]),
        st.sampled_from(["1e30", "-1e30", "1e400", "0.000000001", "123456789012345678901234"]),
    ),
    "BigInt": st.one_of(
        st.integers(min_value=2**63, max_value=2**200).map(str),
        st.integers(max_value=-(2**63), min_value=-(2**200)).map(str),
    ),
    "DateTime": st.sampled_from(
        [
            "0001-01-01T00:00:00",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59",
            "9999-12-31T23:59:59-01:00",
            "1999-12-31T23:59:59+00:00",
            "2100-01-01T00:00:01+00:00",
            "1970-01-01T00:00:00Z",
        ]
    ),
}


def caller_for(leaf: Leaf, member_token: str) -> str | None:
    roles = documented_roles(leaf.operation, leaf.field)
    for role, token in (("ADMIN", ADMIN_KEY), ("INTEGRATION", INTEGRATION_KEY)):
        if role in roles:
            return token
    return member_token if "MEMBER" in roles else None


@pytest.fixture
async def member_token(settings: Settings) -> str:
    return factories.token_for(await factories.member(external_id="m-nasty"), settings)


def test_every_kind_of_argument_is_probed() -> None:
    """Given the served schema, when its arguments are walked, then every scalar kind probed
    is there, in more than 100 places."""
    assert {leaf.scalar for leaf in LEAVES} == set(NASTY)
    assert len(LEAVES) > 100


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_nasty_values_get_a_contract_code_and_write_nothing(
    http: httpx.AsyncClient, member_token: str, data: st.DataObject
) -> None:
    # given an argument of the served schema, a nasty value for it, and a caller it lets in
    leaf = data.draw(st.sampled_from(LEAVES), label="argument")
    value = data.draw(NASTY[leaf.scalar], label="value")
    query, variables = request_for(leaf, value)
    # and the database as it is
    before = await fingerprint()
    # when the value is sent
    response = await post(http, query, variables, caller_for(leaf, member_token))
    # then the answer is INVALID_INPUT, never an internal error, and nothing was written
    body = no_internal_error(response)
    assert "INVALID_INPUT" in codes(body), (leaf.id, body)
    assert await fingerprint() == before, leaf.id
