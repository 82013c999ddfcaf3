"""Every admin-only root field refuses integration keys and member tokens, and every
staff-only one refuses member tokens, before anything runs (checked over the whole
served schema, so fields added later are covered too)."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    Undefined,
)

from core.settings import Settings
from gql.permissions import IsAdmin, IsStaff
from gql.schema import schema
from tests import factories
from tests.conftest import INTEGRATION_KEY, Api

SCALARS = {
    "String": '"x"',
    "ID": '"1"',
    "Int": "1",
    "Float": "1.0",
    "Boolean": "false",
    "Decimal": '"1"',
    "BigInt": '"1"',
    "Date": '"2026-01-01"',
    "DateTime": '"2026-01-01T00:00:00+00:00"',
    "JSON": "{}",
}


def literal(kind: GraphQLInputType) -> str:
    """A smallest well-typed literal, so the request passes validation and reaches the
    permission check."""
    if isinstance(kind, GraphQLNonNull):
        return literal(kind.of_type)
    if isinstance(kind, GraphQLList):
        return "[]"
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    if isinstance(kind, GraphQLInputObjectType):
        required = [
            f"{name}: {literal(field.type)}"
            for name, field in kind.fields.items()
            if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
        ]
        return "{" + ", ".join(required) + "}"
    assert isinstance(kind, GraphQLScalarType)
    return SCALARS[kind.name]


def root_fields(operation: str, roles: tuple[type, ...]) -> list[tuple[str, str]]:
    """(field name, query text) for each root field guarded by exactly these permissions."""
    definition = schema.get_type_by_name(operation)
    graphql_type = schema._schema.get_type(operation)
    assert definition is not None and graphql_type is not None
    found = []
    for field in definition.fields:  # type: ignore[union-attr]
        if not field.permission_classes or not set(field.permission_classes) <= set(roles):
            continue
        name = schema.config.name_converter.get_graphql_name(field)
        gql_field = graphql_type.fields[name]  # type: ignore[attr-defined]
        args = [
            f"{arg_name}: {literal(arg.type)}"
            for arg_name, arg in gql_field.args.items()
            if isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
        ]
        call = f"{name}({', '.join(args)})" if args else name
        keyword = "mutation" if operation == "Mutation" else "query"
        found.append((name, f"{keyword} {{ {call} {{ __typename }} }}"))
    return found


ADMIN_ONLY = root_fields("Mutation", (IsAdmin,)) + root_fields("Query", (IsAdmin,))
STAFF_ONLY = root_fields("Mutation", (IsAdmin, IsStaff)) + root_fields("Query", (IsAdmin, IsStaff))


def test_the_schema_has_guarded_fields() -> None:
    """Given the served schema, when its guarded root fields are listed, then the admin-only
    and staff-only fields are among them."""
    names = {name for name, _ in ADMIN_ONLY}
    assert {"updateProgram", "members"} <= names
    assert {"enrollMember", "issueMemberToken", "member"} <= {name for name, _ in STAFF_ONLY}


async def refused(api: Api, query: str, token: str, code: str) -> None:
    body = await api.raw(query, token=token)
    assert body.get("errors"), (query, body)
    assert body["errors"][0]["extensions"]["code"] == code, (query, body["errors"])
    assert not any((body.get("data") or {}).values()), body


@pytest.mark.parametrize(("name", "query"), ADMIN_ONLY, ids=[n for n, _ in ADMIN_ONLY])
async def test_admin_only_fields_refuse_integration_keys(api: Api, name: str, query: str) -> None:
    """Given an admin-only root field, when the integration key calls it, then it is
    FORBIDDEN, with no data."""
    await refused(api, query, INTEGRATION_KEY, "FORBIDDEN")


@pytest.mark.parametrize(("name", "query"), STAFF_ONLY, ids=[n for n, _ in STAFF_ONLY])
async def test_staff_fields_refuse_member_tokens_and_anonymous_callers(
    api: Api, settings: Settings, name: str, query: str
) -> None:
    # given a staff-only root field, and a member
    member = await factories.member()
    # when the member calls it
    # then it is FORBIDDEN with no data
    await refused(api, query, factories.token_for(member, settings), "FORBIDDEN")
    # and when an anonymous caller calls it, it is UNAUTHENTICATED
    body: dict[str, Any] = await api.raw(query)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body
