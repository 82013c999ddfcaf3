"""The README's GraphQL examples: each block pastes as one document, valid against the
served schema, and run in order they do what the README says (250,000 VND earns 12)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from graphql import OperationDefinitionNode, parse, validate

from gql.schema import schema
from tests.conftest import ADMIN_KEY, INTEGRATION_KEY

README = Path(__file__).resolve().parents[1] / "README.md"


def blocks() -> list[str]:
    return re.findall(r"```graphql\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def operations(block: str) -> list[str]:
    document = parse(block)
    return [
        node.name.value if node.name else ""
        for node in document.definitions
        if isinstance(node, OperationDefinitionNode)
    ]


def test_every_block_is_one_valid_document_of_named_operations() -> None:
    # given the README's GraphQL blocks
    found = blocks()
    assert len(found) >= 3
    # when each is parsed and validated against the served schema
    for block in found:
        # then it is one valid document of named operations
        names = operations(block)
        assert names and all(names), f"an operation has no name in:\n{block}"
        assert len(set(names)) == len(names)
        assert validate(schema._schema, parse(block)) == [], block


async def run(http: httpx.AsyncClient, block: str, name: str, token: str) -> dict[str, Any]:
    response = await http.post(
        "/graphql",
        json={"query": block, "operationName": name},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    assert not body.get("errors"), body
    return body["data"]


async def test_the_examples_run_in_order_and_earn_what_the_readme_says(
    http: httpx.AsyncClient,
) -> None:
    # given the README's examples: the admin's, the back office's and the member's
    admin, back_office, member = blocks()[:3]
    # when the admin designs the program (earn rate 5%)
    designed = await run(http, admin, "DesignProgram", ADMIN_KEY)
    # then it is taken
    assert designed["updateProgram"]["errors"] == []
    # and when the back office enrols, issues a token and records the 250,000 VND order
    assert (await run(http, back_office, "Enrol", INTEGRATION_KEY))["enrollMember"]["errors"] == []
    token = (await run(http, back_office, "IssueToken", INTEGRATION_KEY))["issueMemberToken"]
    order = await run(http, back_office, "RecordOrder", INTEGRATION_KEY)
    # then it earns 12, on top of the 50 welcome points
    assert order["recordOrder"] == {"pointsEarned": 12, "errors": []}
    card = await run(http, back_office, "MemberCard", INTEGRATION_KEY)
    assert card["member"]["pointsBalance"] == 62  # 50 welcome points + 12
    # and the member's app shows the same
    home = await run(http, member, "Home", token["token"])
    assert home["me"]["pointsBalance"] == 62
