"""A cap on every list a request sends (variables and literals), checked before execution.

Domain code still caps lists it takes (core.validation.capped_list); this makes the cap
hold for every argument without each resolver remembering it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, ListValueNode, visit
from graphql.language import Visitor
from strawberry.extensions import SchemaExtension

from core.errors import ErrorCode
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


class ListLimit(SchemaExtension):
    """Refuse a request holding a list of more than MAX_LIST items, naming where it is."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        where = _long_variable(context.variables or {}, [])
        if where is None and context.graphql_document is not None:
            finder = _LongLiteral()
            visit(context.graphql_document, finder)
            where = [] if finder.found else None
        if where is not None:
            error = GraphQLError(
                f"lists are limited to {MAX_LIST} items",
                extensions={"code": ErrorCode.INVALID_INPUT.value, "field": where or None},
            )
            # A new list: ValidationCache's cached one must not be changed.
            context.pre_execution_errors = [*(context.pre_execution_errors or []), error]
        yield
