"""Limits checked before a request runs: list sizes, rate limits, subscriptions over HTTP.

- ListLimit: a cap on every list a request sends (variables and literals). Domain code
  still caps lists it takes (core.validation.capped_list); this makes the cap hold for
  every argument without each resolver remembering it.
- RateLimit: the caller's token bucket (core.ratelimit), stricter for the operations it
  names; refused with HTTP 429, Retry-After and LIMIT_REACHED.
- SubscriptionsOverSockets: a subscription sent over HTTP is refused with INVALID_INPUT.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Generic, TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    ListValueNode,
    get_operation_ast,
    visit,
)
from graphql.language import Visitor
from starlette.requests import Request
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from core import ratelimit
from core.errors import ErrorCode
from core.security import Role, Viewer
from core.validation import MAX_LIST


def _long_variable(value: Any, path: list[str]) -> list[str] | None:
    if isinstance(value, list):
        if len(value) > MAX_LIST:
            return path
        items = enumerate(value)
        return next(
            (p for i, v in items if (p := _long_variable(v, [*path, str(i)])) is not None), None
        )
    if isinstance(value, dict):
        return next(
            (p for k, v in value.items() if (p := _long_variable(v, [*path, str(k)])) is not None),
            None,
        )
    return None


class _LongLiteral(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_list_value(self, node: ListValueNode, *_: Any) -> None:
        if len(node.values) > MAX_LIST:
            self.found = True


_Result = TypeVar("_Result")


class _PerDocument(Generic[_Result]):
    """A fact about a parsed document, worked out once: ParserCache hands the same document
    object to every request with the same query, so it is keyed by identity (the document
    is kept with it, so an id is never reused while cached)."""

    def __init__(self, work: Callable[[DocumentNode], _Result], size: int = 512) -> None:
        self.work = work
        self.size = size
        self.known: dict[int, tuple[DocumentNode, _Result]] = {}

    def __call__(self, document: DocumentNode) -> _Result:
        known = self.known.get(id(document))
        if known is not None and known[0] is document:
            return known[1]
        result = self.work(document)
        if len(self.known) >= self.size:
            self.known.clear()
        self.known[id(document)] = (document, result)
        return result


def _has_long_literal(document: DocumentNode) -> bool:
    finder = _LongLiteral()
    visit(document, finder)
    return finder.found


_long_literal = _PerDocument(_has_long_literal)


class ListLimit(SchemaExtension):
    """Refuse a request holding a list of more than MAX_LIST items, naming where it is."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        where = _long_variable(context.variables or {}, [])
        if where is None and context.graphql_document is not None:
            where = [] if _long_literal(context.graphql_document) else None
        if where is not None:
            error = GraphQLError(
                f"lists are limited to {MAX_LIST} items",
                extensions={"code": ErrorCode.INVALID_INPUT.value, "field": where or None},
            )
            # A new list: ValidationCache's cached one must not be changed.
            context.pre_execution_errors = [*(context.pre_execution_errors or []), error]
        yield


def root_fields(document: DocumentNode, operation_name: str | None) -> set[str]:
    """Names of the root fields the chosen operation selects, through fragments."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return set()
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    names: set[str] = set()
    seen: set[str] = set()
    pending: list[Any] = list(operation.selection_set.selections)
    while pending:
        selection = pending.pop()
        if isinstance(selection, FieldNode):
            names.add(selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            pending.extend(selection.selection_set.selections)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                pending.extend(fragment.selection_set.selections)
    return names


class _RootFields:
    """Root field names of a document's operations, by operation name."""

    def __init__(self, document: DocumentNode) -> None:
        self.document = document
        self.by_name: dict[str | None, set[str]] = {}

    def of(self, operation_name: str | None) -> set[str]:
        names = self.by_name.get(operation_name)
        if names is None:
            names = root_fields(self.document, operation_name)
            if len(self.by_name) < 16:  # a caller may send any operationName
                self.by_name[operation_name] = names
        return names


_root_fields = _PerDocument(_RootFields)


def _kind(viewer: Viewer) -> ratelimit.Kind:
    if viewer.role is Role.MEMBER:
        return "member"
    return "staff" if viewer.is_staff else "anonymous"


class RateLimit(SchemaExtension):
    """Take the request from the caller's token bucket (core.ratelimit) before it runs.

    Refused: HTTP 429 with Retry-After and one error with code LIMIT_REACHED; nothing runs.
    Placed after ValidationCache, whose on_validate sets the errors this one replaces.
    """

    async def on_validate(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context = execution.context
        viewer: Viewer = context.viewer
        retry_after: float | None = None
        # An unknown credential's look-up was this request's take from its address already.
        taken = viewer.identity is None and getattr(context, "lookup_charged", False)
        served = getattr(context, "request", None) is not None  # not an in-process call
        if served and not taken and execution.graphql_document:
            identity = viewer.identity or f"address:{context.client or 'unknown'}"
            strict = bool(
                ratelimit.limits().strict
                & _root_fields(execution.graphql_document).of(execution.operation_name)
            )
            decision = await ratelimit.take(identity, _kind(viewer), strict=strict)
            if not decision.allowed:
                retry_after = decision.retry_after
        if retry_after is not None:
            seconds = ratelimit.retry_seconds(retry_after)
            execution.pre_execution_errors = [
                GraphQLError(
                    f"rate limit reached: retry in {seconds} s",
                    extensions={"code": ErrorCode.LIMIT_REACHED.value, "retryAfter": seconds},
                )
            ]
            response = getattr(context, "response", None)
            if response is not None:
                response.status_code = 429
                response.headers["Retry-After"] = str(seconds)
        yield


class SubscriptionsOverSockets(SchemaExtension):
    """A subscription sent over HTTP is refused with a contract code: live updates are
    served over websockets (graphql-transport-ws) only."""

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        if isinstance(getattr(execution.context, "request", None), Request):
            try:
                is_subscription = execution.operation_type is OperationType.SUBSCRIPTION
            except RuntimeError:  # no such operation: validation reports it
                is_subscription = False
            if is_subscription:
                execution.pre_execution_errors = [
                    GraphQLError(
                        "subscriptions are served over websockets (graphql-transport-ws) only",
                        extensions={"code": ErrorCode.INVALID_INPUT.value},
                    )
                ]
        yield
