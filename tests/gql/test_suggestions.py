"""Production names nothing the client did not send: no "Did you mean ...?" anywhere
(fields, arguments, input fields, enum values, types), over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from core.settings import Settings
from server.app import create_app
from tests.conftest import ADMIN_KEY

AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
MISSPELLED = {
    "field": "{ ledgerAudi { balanced } }",
    "argument": '{ leaderboard(kee: "x") { key } }',
    "enum value": '{ leaderboard(key: "x", period: WEEKLi) { key } }',
    "input field": 'mutation { updateProgram(input: {nam: "x"}) { errors { code } } }',
    "type": "query($i: ProgramInpt!) { program { name } }",
    "variable input field": (
        "mutation($i: ProgramInput!) { updateProgram(input: $i) { errors { code } } }"
    ),
}
VARIABLES = {"variable input field": {"i": {"welcomePoint": 5}}}


@pytest_asyncio.fixture
async def production(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"env": "production"}), run_jobs=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        yield client


@pytest.mark.parametrize("case", MISSPELLED)
async def test_production_gives_no_suggestions(production: httpx.AsyncClient, case: str) -> None:
    # given a production server, and a request misspelling a name
    # when it is sent
    response = await production.post(
        "/graphql",
        json={"query": MISSPELLED[case], "variables": VARIABLES.get(case, {})},
        headers=AUTH,
    )
    # then it is INVALID_INPUT, and no answer suggests a name
    body = response.json()
    assert body["errors"], body
    assert "Did you mean" not in response.text, body
    assert all(e["extensions"]["code"] == "INVALID_INPUT" for e in body["errors"])


async def test_development_still_suggests(http: httpx.AsyncClient) -> None:
    """Given a development server, when a field is misspelled, then the answer suggests one."""
    response = await http.post("/graphql", json={"query": MISSPELLED["field"]}, headers=AUTH)
    assert "Did you mean" in response.text
