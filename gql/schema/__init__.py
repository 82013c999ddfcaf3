"""The served schema, composed from one module per area.

`schema` is what the server runs and the contract checker imports (gql.schema:schema).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError
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
from strawberry.types import ExecutionContext

from gql import audit as audit_trail
from gql import validation
from gql.errors import error_codes, log_unexpected
from gql.limits import ListLimit, RateLimit, SubscriptionsOverSockets
from gql.permissions import document_roles
from gql.scalars import UTCDateTime
from gql.schema import (
    actions,
    audit,
    badges,
    care,
    channels,
    engage,
    events,
    leaderboards,
    ledger,
    members,
    missions,
    orders,
    program,
    promotions,
    spin,
    stamp_cards,
    tiers,
    vouchers,
)
from gql.subscriptions import SharedEvents

AREAS: list[Any] = [
    members,
    program,
    events,
    tiers,
    promotions,
    orders,
    ledger,
    vouchers,
    spin,
    badges,
    missions,
    stamp_cards,
    actions,
    leaderboards,
    engage,
    care,
    channels,
    audit,
]

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 3000


def _merged(name: str) -> type | None:
    parts = tuple(getattr(area, name) for area in AREAS if hasattr(area, name))
    return merge_types(name, parts) if parts else None


Query = _merged("Query")
Mutation = _merged("Mutation")
Subscription = _merged("Subscription")


class CheckedParserCache(ParserCache):
    """ParserCache that leaves a malformed document (bad syntax, over the token limit) to
    strawberry's own parse, whose error takes the normal path (contract code, masking)
    instead of escaping the operation hooks."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        with contextlib.suppress(GraphQLError):
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        yield


class LoyaltySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Runs before the ErrorCodes extension masks anything, so the log keeps tracebacks;
        # expected errors (bad input, refused permissions) are the client's, not logged.
        log_unexpected(errors)


def build_schema(*, production: bool = False) -> strawberry.Schema:
    """The schema with its limits; every argument checked (gql.validation), every admin
    mutation audited (gql.audit) and every root field's roles documented in its
    description (gql.permissions), all wired here so new fields are covered."""
    extensions: list[Any] = [
        error_codes(production),
        # Classes, not instances: each keeps its cache across requests.
        CheckedParserCache,
        ValidationCache,
        # After ValidationCache, whose on_validate sets the errors these may replace.
        RateLimit,
        SubscriptionsOverSockets,
        ListLimit,
        QueryDepthLimiter(max_depth=MAX_DEPTH),
        MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        MaxTokensLimiter(max_token_count=MAX_TOKENS),
    ]
    if production:
        extensions.append(DisableIntrospection)
    built = LoyaltySchema(
        query=Query,  # type: ignore[arg-type]
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True, disable_field_suggestions=production),
        scalar_overrides={datetime: UTCDateTime},
        execution_context_class=SharedEvents,
    )
    validation.install(built)
    audit_trail.install(built)  # outermost: refused input is audited too
    document_roles(built)
    return built


schema = build_schema()
