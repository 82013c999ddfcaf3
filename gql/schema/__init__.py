"""The served schema, composed from one module per area.

`schema` is what the server runs and the contract checker imports (gql.schema:schema).
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from gql.errors import error_codes
from gql.schema import events, members, program

AREAS: list[Any] = [members, program, events]

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 3000


def _merged(name: str) -> type | None:
    parts = tuple(getattr(area, name) for area in AREAS if hasattr(area, name))
    return merge_types(name, parts) if parts else None


Query = _merged("Query")
Mutation = _merged("Mutation")
Subscription = _merged("Subscription")


def build_schema(*, production: bool = False) -> strawberry.Schema:
    extensions: list[Any] = [
        error_codes(production),
        # Classes, not instances: each keeps its cache across requests.
        ParserCache,
        ValidationCache,
        QueryDepthLimiter(max_depth=MAX_DEPTH),
        MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        MaxTokensLimiter(max_token_count=MAX_TOKENS),
    ]
    if production:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(
        query=Query,  # type: ignore[arg-type]
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True),
    )


schema = build_schema()
