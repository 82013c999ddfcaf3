"""Schemathesis against the running server: generated queries and mutations for every root
field (valid and invalid arguments), sent as admin and as a member. The server never answers
5xx, always answers JSON, and every error carries a contract code.

Bounded: EXAMPLES per root field and caller, so CI spends well under two minutes here.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
import schemathesis
from graphql import get_introspection_query, graphql_sync
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes

from core.errors import ErrorCode
from gql.schema import schema as served
from tests.acceptance.conftest import Server
from tests.conftest import ADMIN_KEY, INTEGRATION_KEY

EXAMPLES = 6
CODES = {c.value for c in ErrorCode}

# Our scalars, with values near and past their edges.
schemathesis.graphql.scalar(
    "Decimal",
    st.sampled_from(["0", "1.5", "250000", "NaN", "sNaN", "Infinity", "1e-30", "1e30", "x"]).map(
        nodes.String
    ),
)
schemathesis.graphql.scalar(
    "BigInt",
    st.sampled_from(["0", "-5", "9223372036854775807", "9223372036854775808", "1e3"]).map(
        nodes.String
    ),
)
schemathesis.graphql.scalar(
    "DateTime",
    st.sampled_from(
        ["2026-06-01T00:00:00+07:00", "0001-01-01T00:00:00", "9999-12-31T23:59:59-01:00", "x"]
    ).map(nodes.String),
)
schemathesis.graphql.scalar(
    "Date", st.sampled_from(["1995-04-12", "0001-01-01", "2026-02-30"]).map(nodes.String)
)
schemathesis.graphql.scalar(
    "JSON", st.sampled_from(['{"channel": "app"}', "{}", '{"a": "\\u0000"}']).map(nodes.String)
)

_introspection = graphql_sync(served._schema, get_introspection_query())
assert _introspection.errors is None and _introspection.data is not None
SCHEMA = schemathesis.graphql.from_dict(_introspection.data)


@pytest.fixture(scope="module")
def session() -> requests.Session:
    return requests.Session()


@pytest.fixture(scope="module")
def tokens(server: Server, session: requests.Session) -> list[str]:
    """An admin key and the token of a member enrolled for this module."""
    enrol = (
        'mutation { enrollMember(input: {externalId: "schemathesis", displayName: "S"}) '
        "{ errors { code } } }"
    )
    issue = 'mutation { issueMemberToken(memberExternalId: "schemathesis") { token } }'
    headers = {"Authorization": f"Bearer {INTEGRATION_KEY}"}
    session.post(f"{server.url}/graphql", json={"query": enrol}, headers=headers, timeout=30)
    answer = session.post(f"{server.url}/graphql", json={"query": issue}, headers=headers)
    return [ADMIN_KEY, answer.json()["data"]["issueMemberToken"]["token"]]


def check(response: Any) -> None:
    assert response.status_code < 500, response.text[:500]
    content_type = response.headers.get("content-type") or [""]  # schemathesis: name -> list
    assert content_type[0].startswith("application/json"), response.text[:500]
    body = response.json()
    for error in body.get("errors") or []:
        assert (error.get("extensions") or {}).get("code") in CODES, error


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_generated_request_gets_an_internal_error(
    case: Any, server: Server, session: requests.Session, tokens: list[str]
) -> None:
    # given a generated request (schemathesis), and each caller: an admin and a member
    for token in tokens:
        # when each caller sends it
        response = case.call(
            base_url=f"{server.url}/graphql",
            session=session,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        # then the answer is never an internal error (check)
        check(response)
