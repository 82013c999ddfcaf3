"""Requests that are not a GraphQL request get HTTP 400 with a JSON error and a contract
code (server/http_guard.py), never a 500 in text/plain; subscriptions want websockets."""

from __future__ import annotations

import httpx
import pytest

from members.models import Member
from server.http_guard import MAX_DEPTH
from tests.conftest import INTEGRATION_KEY

JSON = {"content-type": "application/json", "Authorization": f"Bearer {INTEGRATION_KEY}"}
DEEP = b'{"query": "{ viewerRole }", "variables": {"v": ' + b"[" * 5000 + b"]" * 5000 + b"}}"

BAD_BODIES = {
    "a number": b"42",
    "null": b"null",
    "a string": b'"{ viewerRole }"',
    "a list (batching is off)": b'[{"query": "{ viewerRole }"}]',
    "an empty list": b"[]",
    "true": b"true",
    "not JSON": b"{query: viewerRole}",
    "empty": b"",
    "non-UTF-8 bytes": b'{"query": "\xff\xfe"}',
    "UTF-16": '{"query": "{ viewerRole }"}'.encode("utf-16"),
    "5,000-deep variables": DEEP,
    f"{MAX_DEPTH + 1}-deep variables": b'{"query": "{ viewerRole }", "variables": {"v": '
    + b"[" * MAX_DEPTH
    + b"]" * MAX_DEPTH
    + b"}}",
    "NaN": b'{"query": "{ viewerRole }", "variables": {"v": NaN}}',
    "Infinity": b'{"query": "{ viewerRole }", "variables": {"v": -Infinity}}',
    "a float past double": b'{"query": "{ viewerRole }", "variables": {"v": 1e999}}',
    "a 5000-digit integer": b'{"query": "{ viewerRole }", "variables": {"v": '
    + b"9" * 5000
    + b"}}",
}


def assert_json_error(response: httpx.Response, status: int = 400) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT", body
    return body


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
async def test_a_body_that_is_not_one_json_object_is_400_json(
    http: httpx.AsyncClient, body: bytes
) -> None:
    # given a body that is not one JSON object of a bounded depth
    # when it is posted
    response = await http.post("/graphql", content=body, headers=JSON)
    # then it is a JSON 400 with INVALID_INPUT
    assert_json_error(response)


async def test_batches_are_refused_as_a_whole_before_anything_runs(http: httpx.AsyncClient) -> None:
    # given a batch of one mutation
    batch = (
        b'[{"query": "mutation { enrollMember(input: {externalId: \\"b-1\\", '
        b'displayName: \\"B\\"}) { errors { code } } }"}]'
    )
    # when it is posted
    # then it is refused as a batch, a JSON 400, and nobody is enrolled
    body = assert_json_error(await http.post("/graphql", content=batch, headers=JSON))
    assert "batch" in body["errors"][0]["message"]
    assert await Member.all().count() == 0


async def test_a_body_that_is_not_declared_json_is_400_json(http: httpx.AsyncClient) -> None:
    # given a form-encoded body
    # when it is posted
    response = await http.post(
        "/graphql",
        content=b"query={ viewerRole }",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    # then it is a JSON 400 with INVALID_INPUT
    assert_json_error(response)


async def test_a_body_nested_within_the_limit_is_served(http: httpx.AsyncClient) -> None:
    # given variables nested within the limit
    depth = MAX_DEPTH - 3
    body = b'{"query": "{ viewerRole }", "variables": {"v": ' + b"[" * depth + b"]" * depth + b"}}"
    # when they are posted
    response = await http.post("/graphql", content=body, headers=JSON)
    # then the query is served
    assert response.status_code == 200
    assert response.json()["data"] == {"viewerRole": "INTEGRATION"}


async def test_text_errors_of_the_view_become_json_with_a_code(http: httpx.AsyncClient) -> None:
    # given a query
    # when it is sent with GET, which the view answers in text
    response = await http.get("/graphql", params={"query": "{ viewerRole }"}, headers=JSON)
    # then the answer is JSON with INVALID_INPUT, saying so
    body = assert_json_error(response)
    assert "not allowed" in body["errors"][0]["message"]


async def test_a_subscription_over_http_is_a_clear_error(http: httpx.AsyncClient) -> None:
    # given a subscription
    # when it is posted over HTTP
    response = await http.post(
        "/graphql", json={"query": "subscription { memberEvents { __typename } }"}, headers=JSON
    )
    # then it is INVALID_INPUT, pointing at websockets
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert "websocket" in body["errors"][0]["message"]
