"""Top-level errors carry a contract code; unexpected ones are masked in production."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from core.settings import Settings
from gql.errors import GENERIC_MESSAGE
from members.models import Member
from server.app import create_app
from tests import factories
from tests.conftest import ADMIN_KEY, INTEGRATION_KEY, Api

AUTH = {"Authorization": f"Bearer {INTEGRATION_KEY}"}
QUERY = 'query { member(externalId: "broken") { externalId gender } }'


@pytest_asyncio.fixture
async def production_http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real app built in production mode, on the suite's database and Redis."""
    app = create_app(settings.model_copy(update={"env": "production"}), run_jobs=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def corrupt_member() -> None:
    """A row no code path writes (an unknown gender), so reading it fails unexpectedly."""
    member = await factories.member(external_id="broken")
    await Member.filter(id=member.id).update(gender="ROBOT")


async def test_production_hides_unexpected_errors_and_logs_the_traceback(
    production_http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    # given a member row that makes the resolver fail
    await corrupt_member()
    # when a back office reads it from a production server
    with caplog.at_level(logging.ERROR, logger="loyalty.api"):
        response = await production_http.post("/graphql", json={"query": QUERY}, headers=AUTH)
    # then the client sees only a generic message
    body = response.json()
    assert body["errors"][0]["message"] == GENERIC_MESSAGE
    assert "ROBOT" not in response.text and "Traceback" not in response.text
    assert body["errors"][0].get("extensions") in (None, {})
    # and the log keeps the traceback
    records = [r for r in caplog.records if r.name == "loyalty.api" and r.exc_info]
    assert records, caplog.text
    assert "ROBOT" in caplog.text and "Traceback" in caplog.text


async def test_development_shows_the_unexpected_error(api: Api) -> None:
    # given a member row the API cannot read, in development
    await corrupt_member()
    # when it is asked for
    body = await api.raw(QUERY, token=INTEGRATION_KEY)
    # then the error shows what went wrong
    assert "ROBOT" in body["errors"][0]["message"]


async def test_production_keeps_expected_errors_and_their_codes(
    production_http: httpx.AsyncClient,
) -> None:
    # given a production server
    # when an anonymous caller asks for me, and the integration key for the members
    response = await production_http.post("/graphql", json={"query": "{ me { id } }"})
    # then each keeps its expected code and message, not the generic one
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["errors"][0]["message"] != GENERIC_MESSAGE
    response = await production_http.post(
        "/graphql", json={"query": "{ members(first: 500) { totalCount } }"}, headers=AUTH
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_production_refuses_introspection(production_http: httpx.AsyncClient) -> None:
    # given a production server
    # when introspection is asked for
    response = await production_http.post(
        "/graphql", json={"query": "{ __schema { queryType { name } } }"}, headers=AUTH
    )
    # then it is refused as INVALID_INPUT, naming introspection
    body = response.json()
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert "introspection" in body["errors"][0]["message"].lower()


async def test_development_allows_introspection(api: Api) -> None:
    # given a development server
    # when introspection is asked for
    data = await api("{ __schema { queryType { name } } }", token=INTEGRATION_KEY)
    # then it answers
    assert data["__schema"]["queryType"]["name"] == "Query"


async def test_graphiql_is_served_in_development_only(
    http: httpx.AsyncClient, production_http: httpx.AsyncClient
) -> None:
    # given a development and a production server
    accept = {"Accept": "text/html"}
    # when a browser asks each for /graphql
    development = await http.get("/graphql", headers=accept)
    production = await production_http.get("/graphql", headers=accept)
    # then development serves GraphiQL, production does not
    assert development.status_code == 200 and "graphiql" in development.text.lower()
    assert production.status_code == 404
    assert "graphiql" not in production.text.lower()


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("{ viewerRole(", {}),
        ("{ noSuchField }", {}),
        (
            "mutation($i: ProgramInput!) { updateProgram(input: $i) { errors { code } } }",
            {"i": {"pointValue": "not-a-number"}},
        ),
        (
            "mutation($i: ProgramInput!) { updateProgram(input: $i) { errors { code } } }",
            {"i": {"tierWindow": "WEEKLY"}},
        ),
        (
            "mutation($i: EnrollMemberInput!) { enrollMember(input: $i) { errors { code } } }",
            {"i": {"externalId": "x", "displayName": "y", "birthday": "31/12/1990"}},
        ),
        ("{ member(externalId: 5) { id } }", {}),
    ],
)
async def test_malformed_requests_are_invalid_input_not_internal_errors(
    api: Api, query: str, variables: dict, caplog: pytest.LogCaptureFixture
) -> None:
    # given a malformed request
    # when it is sent
    with caplog.at_level(logging.ERROR):
        body = await api.raw(query, variables, token=ADMIN_KEY)
    # then it is INVALID_INPUT, with no data
    assert body.get("data") is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_INPUT"] * len(
        body["errors"]
    )
    # and the client's mistake is not logged as a server error
    assert not [r for r in caplog.records if r.name == "loyalty.api"]
