"""The authorization matrix: every root field of the served schema, read from introspection,
called as anonymous, member, integration and admin. Each answers as its documented roles
("Roles: ..." in its description) say: a caller outside them gets UNAUTHENTICATED
(anonymous) or FORBIDDEN and no data; a caller inside never does, and whatever else it
gets carries a contract code. A new field is covered without editing this test; a root
field that documents no role fails it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from graphql import (
    GraphQLNonNull,
    GraphQLObjectType,
    Undefined,
    get_named_type,
    is_composite_type,
)

from core.settings import Settings
from gql.schema import schema as served
from tests import factories
from tests.conftest import ADMIN_KEY, INTEGRATION_KEY, Api
from tests.gql.inputs import CLIENT, CODES, documented_roles, sample
from tests.server.live import closed_with, live_server, socket

CALLERS = ("anonymous", "MEMBER", "INTEGRATION", "ADMIN")


def root_fields(operation: str) -> list[str]:
    root = CLIENT.get_type(operation)
    return list(root.fields) if isinstance(root, GraphQLObjectType) else []


def call(operation: str, name: str) -> tuple[str, dict[str, Any]]:
    root = CLIENT.get_type(operation)
    assert isinstance(root, GraphQLObjectType)
    field = root.fields[name]
    required = {
        arg: a
        for arg, a in field.args.items()
        if isinstance(a.type, GraphQLNonNull) and a.default_value is Undefined
    }
    variables = {arg: sample(a.type) for arg, a in required.items()}
    declared = ", ".join(f"${arg}: {a.type}" for arg, a in required.items())
    arguments = ", ".join(f"{arg}: ${arg}" for arg in required)
    selection = "{ __typename }" if is_composite_type(get_named_type(field.type)) else ""
    text = (
        f"{operation.lower()}{f'({declared})' if declared else ''} "
        f"{{ {name}{f'({arguments})' if arguments else ''} {selection} }}"
    )
    return text, variables


def expect(body: dict[str, Any], caller: str, allowed: bool, where: str) -> None:
    errors = body.get("errors") or []
    found = {(e.get("extensions") or {}).get("code") for e in errors}
    for error in errors:
        assert (error.get("extensions") or {}).get("code") in CODES, (where, error)
    if allowed:
        assert not found & {"UNAUTHENTICATED", "FORBIDDEN"}, (where, body)
    else:
        wanted = "UNAUTHENTICATED" if caller == "anonymous" else "FORBIDDEN"
        assert found == {wanted}, (where, body)
        assert not any((body.get("data") or {}).values()), (where, body)


HTTP_FIELDS = [("Query", n) for n in root_fields("Query")] + [
    ("Mutation", n) for n in root_fields("Mutation")
]


def test_the_matrix_covers_every_root_field() -> None:
    # given the served schema as a client introspects it
    # when its root fields are listed for the matrix
    # then every query and mutation is there
    assert len(HTTP_FIELDS) == len(served._schema.query_type.fields) + len(  # type: ignore[union-attr]
        served._schema.mutation_type.fields  # type: ignore[union-attr]
    )
    assert {"updateProgram", "auditLog", "spin", "me", "viewerRole"} <= {n for _, n in HTTP_FIELDS}


@pytest.mark.parametrize(("operation", "name"), HTTP_FIELDS, ids=[n for _, n in HTTP_FIELDS])
async def test_each_root_field_answers_each_caller_as_documented(
    api: Api, settings: Settings, operation: str, name: str
) -> None:
    # given a root field, the roles it documents, and a caller of each kind
    roles = documented_roles(operation, name)
    member = factories.token_for(await factories.member(external_id="m-matrix"), settings)
    tokens = {
        "anonymous": None,
        "MEMBER": member,
        "INTEGRATION": INTEGRATION_KEY,
        "ADMIN": ADMIN_KEY,
    }
    # when each caller calls it
    query, variables = call(operation, name)
    for caller in CALLERS:
        allowed = caller in roles
        body = await api.raw(query, variables, token=tokens[caller])
        # then those inside its roles get through, the others are refused, with contract codes
        expect(body, caller, allowed, f"{name} as {caller}")


SUBSCRIPTIONS = root_fields("Subscription")


@pytest.mark.parametrize("name", SUBSCRIPTIONS)
async def test_each_subscription_answers_each_caller_as_documented(
    settings: Settings, name: str
) -> None:
    # given a subscription, the roles it documents, and a member
    roles = documented_roles("Subscription", name)
    member = factories.token_for(await factories.member(external_id="m-matrix"), settings)
    query, variables = call("Subscription", name)
    async with live_server(settings) as live:
        # when an anonymous socket connects, it is refused at connection_init, before any
        # subscription
        async with websockets.connect(live.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            assert await closed_with(ws, within=5) == 4403
        # and when each other caller subscribes
        for caller, token in (
            ("MEMBER", member),
            ("INTEGRATION", INTEGRATION_KEY),
            ("ADMIN", ADMIN_KEY),
        ):
            async with socket(live, token) as ws:
                message = {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": query, "variables": variables},
                }
                await ws.send(json.dumps(message))
                body = await _first_answer(ws)
                # then its roles get through, the others are refused, with contract codes
                expect(body, caller, caller in roles, f"{name} as {caller}")


async def _first_answer(ws: Any, wait: float = 1.0) -> dict[str, Any]:
    """The errors of the first message, or {} if the subscription is running quietly."""
    try:
        raw = json.loads(await asyncio.wait_for(ws.recv(), wait))
    except TimeoutError:
        return {}
    if raw["type"] == "error":
        return {"errors": raw["payload"], "data": None}
    return raw.get("payload") or {}
