"""Abuse limits: depth, aliases, tokens, batching and body size are refused before work."""

from __future__ import annotations

import httpx

from gql.schema import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS
from members.models import Member
from tests.conftest import ADMIN_KEY, INTEGRATION_KEY, Api

AUTH = {"Authorization": f"Bearer {INTEGRATION_KEY}"}


def refused(body: dict, word: str) -> str:
    """The single refusal message of a request that never executed."""
    assert body.get("data") is None, body
    codes = {e["extensions"]["code"] for e in body["errors"]}
    assert codes == {"INVALID_INPUT"}, body
    message = " ".join(e["message"] for e in body["errors"])
    assert word in message.lower(), message
    return message


async def test_200_mutation_aliases_are_refused_before_any_resolver_runs(api: Api) -> None:
    # given a mutation that would enrol a member under each of 200 aliases
    fields = " ".join(f"a{i}: enrollMember(input: $i) {{ __typename }}" for i in range(200))
    query = f"mutation($i: EnrollMemberInput!) {{ {fields} }}"
    variables = {"i": {"externalId": "alias-attack", "displayName": "Nguyễn Văn A"}}
    # when it is sent by a caller allowed to enrol
    body = await api.raw(query, variables, token=INTEGRATION_KEY)
    # then it is refused for its aliases and no resolver ran: nobody was enrolled
    refused(body, "alias")
    assert await Member.all().count() == 0


async def test_aliases_up_to_the_limit_run(api: Api) -> None:
    # given a query of as many aliases as allowed
    query = "{ " + " ".join(f"a{i}: viewerRole" for i in range(MAX_ALIASES)) + " }"
    # when it is sent
    data = await api(query, token=INTEGRATION_KEY)
    # then each alias answers
    assert set(data.values()) == {"INTEGRATION"}


async def test_a_query_deeper_than_the_limit_is_refused(api: Api) -> None:
    # given nested selections past MAX_DEPTH (the limiter measures the document itself)
    depth = MAX_DEPTH + 2
    query = (
        "{ "
        + "members { edges { node { " * (depth // 3 + 1)
        + "id"
        + " } } }" * (depth // 3 + 1)
        + " }"
    )
    # when the query is sent
    body = await api.raw(query, token=ADMIN_KEY)
    # then it is refused for its depth
    refused(body, "depth")


async def test_a_query_over_the_token_limit_is_refused(api: Api) -> None:
    # given a query of more tokens than allowed
    query = "{ " + "viewerRole " * (MAX_TOKENS + 1) + "}"
    # when it is sent
    body = await api.raw(query, token=INTEGRATION_KEY)
    # then it is refused for its tokens
    refused(body, "token")


async def test_batched_requests_are_refused(api: Api, http: httpx.AsyncClient) -> None:
    # given a JSON list of two operations, one of which would write
    batch = [
        {"query": "{ viewerRole }"},
        {
            "query": 'mutation { enrollMember(input: {externalId: "batch-1", displayName: "B"}) '
            "{ errors { code } } }"
        },
    ]
    # when it is posted
    response = await http.post("/graphql", json=batch, headers=AUTH)
    # then it is refused as a whole and nothing ran
    assert response.status_code == 400
    assert "batch" in response.text.lower()
    assert await Member.all().count() == 0


async def test_a_body_over_the_cap_is_413_declared_or_streamed(http: httpx.AsyncClient) -> None:
    # given a body over the cap
    big = b'{"query": "{ viewerRole }", "pad": "' + b"x" * (300 * 1024) + b'"}'
    headers = AUTH | {"content-type": "application/json"}
    # when it is posted with its Content-Length
    response = await http.post("/graphql", content=big, headers=headers)
    # then it is 413 and INVALID_INPUT
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_INPUT"

    # and when it is streamed in chunks without a length, it is 413 too
    async def chunks():  # type: ignore[no-untyped-def]
        for start in range(0, len(big), 16 * 1024):
            yield big[start : start + 16 * 1024]

    response = await http.post("/graphql", content=chunks(), headers=headers)
    assert response.status_code == 413


async def test_a_body_under_the_cap_is_served(http: httpx.AsyncClient) -> None:
    # given a body under the cap
    body = b'{"query": "{ viewerRole }", "pad": "' + b"x" * (100 * 1024) + b'"}'
    # when it is posted
    response = await http.post(
        "/graphql", content=body, headers=AUTH | {"content-type": "application/json"}
    )
    # then it is served
    assert response.status_code == 200
    assert response.json()["data"] == {"viewerRole": "INTEGRATION"}


async def test_queries_over_get_are_not_served(http: httpx.AsyncClient) -> None:
    # given a query
    # when it is sent with GET
    response = await http.get("/graphql", params={"query": "{ viewerRole }"}, headers=AUTH)
    # then it is not served
    assert response.status_code == 400
    assert "not allowed" in response.text


async def test_a_list_over_100_items_is_refused_before_execution(api: Api) -> None:
    # given an enrolment with 101 tags
    mutation = "mutation($i: EnrollMemberInput!) { enrollMember(input: $i) { errors { code } } }"
    many = [f"t{n}" for n in range(101)]
    # when it is sent in variables, or as a literal
    body = await api.raw(
        mutation,
        {"i": {"externalId": "list-1", "displayName": "A", "tags": many}},
        token=INTEGRATION_KEY,
    )
    # then it is refused before execution, naming the list, and nobody is enrolled
    refused(body, "100 items")
    assert body["errors"][0]["extensions"]["field"] == ["i", "tags"]
    literal = (
        'mutation { enrollMember(input: {externalId: "list-2", displayName: "B", tags: ['
        + ", ".join(f'"t{n}"' for n in range(101))
        + "]}) { errors { code } } }"
    )
    refused(await api.raw(literal, token=INTEGRATION_KEY), "100 items")
    assert await Member.all().count() == 0


async def test_a_list_of_100_items_reaches_the_domain(api: Api) -> None:
    # given an enrolment with 100 tags
    mutation = "mutation($i: EnrollMemberInput!) { enrollMember(input: $i) { errors { field } } }"
    tags = [f"t{n}" for n in range(100)]
    # when it is sent
    data = await api.integration(
        mutation, {"i": {"externalId": "l", "displayName": "C", "tags": tags}}
    )
    # then the domain's own, smaller cap on tags answers, naming the field
    assert data["enrollMember"]["errors"] == [{"field": ["input", "tags"]}]
