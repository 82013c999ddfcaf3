"""Helpers for the input and authorization tests: raw posts (lone surrogates included), the
contract's codes, a fingerprint of the database, the served schema as a client introspects
it with the roles each root field documents, and a walk over every argument of it."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    Undefined,
    build_client_schema,
    get_introspection_query,
    get_named_type,
    graphql_sync,
    is_composite_type,
)
from tortoise import Tortoise, connections

from core.db import APP
from core.errors import ErrorCode
from gql.schema import schema

CODES = {c.value for c in ErrorCode}
# The audit trail records refused admin calls too: that row is the point, not a write.
NOT_FINGERPRINTED = {"audit_entry"}
_ROLES = re.compile(r"Roles: ([A-Za-z, ]+)\.\s*$")


def _introspected() -> GraphQLSchema:
    """The served schema as a client sees it (introspection, not Python)."""
    result = graphql_sync(schema._schema, get_introspection_query(descriptions=True))
    assert result.errors is None and result.data is not None
    return build_client_schema(result.data)  # type: ignore[arg-type]


CLIENT = _introspected()


def documented_roles(operation: str, name: str) -> set[str]:
    """The roles the root field's description names ("Roles: ADMIN, INTEGRATION.")."""
    root = CLIENT.get_type(operation)
    assert isinstance(root, GraphQLObjectType)
    found = _ROLES.search(root.fields[name].description or "")
    assert found, f"{operation}.{name} documents no role (give it a permission class)"
    return {r.strip() for r in found.group(1).split(",")}


async def post(
    http: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
) -> httpx.Response:
    """POST as a client would; json.dumps escapes lone surrogates as \\udXXX, as JS does."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    headers = {"content-type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return await http.post("/graphql", content=body, headers=headers)


def codes(body: dict[str, Any]) -> set[str]:
    """Every code the answer carries: top-level errors' and payloads' errors'."""
    found = {(e.get("extensions") or {}).get("code") for e in body.get("errors") or []}
    for value in (body.get("data") or {}).values():
        if isinstance(value, dict):
            found |= {e["code"] for e in value.get("errors") or [] if isinstance(e, dict)}
    return found


def no_internal_error(response: httpx.Response) -> dict[str, Any]:
    """A JSON answer whose every top-level error carries a contract code."""
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert response.status_code in (200, 400, 429), (response.status_code, body)
    for error in body.get("errors") or []:
        assert (error.get("extensions") or {}).get("code") in CODES, error
    return body


async def fingerprint() -> str:
    """A hash of every row of every table (the test database is small)."""
    conn = connections.get("default")
    digest = hashlib.sha256()
    for model in sorted(Tortoise.apps[APP].values(), key=lambda m: m._meta.db_table):
        table = model._meta.db_table
        if table in NOT_FINGERPRINTED:
            continue
        rows = await conn.execute_query_dict(f'SELECT * FROM "{table}"')
        lines = sorted(json.dumps(row, sort_keys=True, default=str) for row in rows)
        digest.update(f"{table}:{len(lines)}:".encode())
        digest.update("\n".join(lines).encode())
    return digest.hexdigest()


# -- the served schema's arguments -----------------------------------------------------

SAMPLE = {
    "String": "x",
    "ID": "1",
    "Int": 1,
    "Float": 1.0,
    "Boolean": False,
    "Decimal": "1",
    "BigInt": "1",
    "Date": "2026-01-01",
    "DateTime": "2026-01-01T00:00:00+00:00",
    "JSON": {},
}


def sample(kind: GraphQLInputType) -> Any:
    """A smallest well-typed value (required input fields only)."""
    if isinstance(kind, GraphQLNonNull):
        return sample(kind.of_type)
    if isinstance(kind, GraphQLList):
        return [sample(kind.of_type)]
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    if isinstance(kind, GraphQLInputObjectType):
        return {
            name: sample(field.type)
            for name, field in kind.fields.items()
            if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
        }
    assert isinstance(kind, GraphQLScalarType)
    return SAMPLE[kind.name]


@dataclass(frozen=True)
class Leaf:
    """One scalar a client can send: root field, argument path, scalar name."""

    operation: str  # "Query" | "Mutation" | "Subscription"
    field: str
    path: tuple[str, ...]  # argument name, then input field names; "0" for list items
    scalar: str

    @property
    def id(self) -> str:
        return f"{self.field}.{'.'.join(self.path)}"


def _leaves(kind: GraphQLInputType, path: tuple[str, ...], seen: frozenset[str]) -> Iterator[Any]:
    if isinstance(kind, GraphQLNonNull):
        yield from _leaves(kind.of_type, path, seen)
    elif isinstance(kind, GraphQLList):
        yield from _leaves(kind.of_type, (*path, "0"), seen)
    elif isinstance(kind, GraphQLInputObjectType):
        if kind.name not in seen:
            for name, field in kind.fields.items():
                yield from _leaves(field.type, (*path, name), seen | {kind.name})
    elif isinstance(kind, GraphQLScalarType):
        yield path, kind.name


def leaves(scalars: set[str]) -> list[Leaf]:
    """Every argument leaf of a root field whose scalar is one of `scalars`."""
    found = []
    for operation in ("Query", "Mutation", "Subscription"):
        root = schema._schema.get_type(operation)
        assert isinstance(root, GraphQLObjectType)
        for name, field in root.fields.items():
            for arg_name, arg in field.args.items():
                for path, scalar in _leaves(arg.type, (arg_name,), frozenset()):
                    if scalar in scalars:
                        found.append(Leaf(operation, name, path, scalar))
    return found


def request_for(leaf: Leaf, value: Any) -> tuple[str, dict[str, Any]]:
    """A query calling leaf.field with every argument as a variable: required ones sampled,
    and `value` placed at leaf.path."""
    root = schema._schema.get_type(leaf.operation)
    assert isinstance(root, GraphQLObjectType)
    field = root.fields[leaf.field]
    variables: dict[str, Any] = {}
    for name, arg in field.args.items():
        if name == leaf.path[0] or (
            isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
        ):
            variables[name] = sample(arg.type)
    variables[leaf.path[0]] = _placed(variables[leaf.path[0]], leaf.path[1:], value)
    declared = ", ".join(f"${n}: {field.args[n].type}" for n in variables)
    call = ", ".join(f"{n}: ${n}" for n in variables)
    keyword = leaf.operation.lower()
    selection = _selection(field.type)
    text = f"{keyword}({declared}) {{ {leaf.field}({call}) {selection} }}"
    return text, variables


def _placed(current: Any, path: tuple[str, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if head == "0":
        inner = current[0] if isinstance(current, list) and current else {}
        return [_placed(inner, rest, value)]
    base = dict(current) if isinstance(current, dict) else {}
    base[head] = _placed(base.get(head, {}), rest, value)
    return base


def _selection(kind: Any) -> str:
    named = get_named_type(kind)
    if isinstance(named, GraphQLObjectType) and "errors" in named.fields:
        return "{ __typename errors { code field } }"
    return "{ __typename }" if is_composite_type(named) else ""
