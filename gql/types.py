"""What every schema area builds its types with.

- `Payload`: the base of mutation payloads, which carry `errors` (gql.errors), last.
- `from_row`: a type from a row (a model or a domain value), copying its declared fields
  by name: types declare plain fields and resolve only what needs more than the row.
- `from_input`: a domain dataclass from an input object, copying its fields by name.
- `mutation`: a root mutation with its permission classes; its payload is its return type.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Awaitable, Callable, Hashable, Sequence
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar, cast, get_args, get_type_hints, overload

import strawberry
from strawberry.permission import BasePermission
from strawberry.types.base import StrawberryList, StrawberryOptional, has_object_definition
from strawberry.types.lazy_type import LazyType
from strawberry.types.private import is_private

from gql.errors import UserError, payload_errors

T = TypeVar("T")
D = TypeVar("D")
Convert = Callable[[Any], Any]


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None

    @classmethod
    def of(cls, edges: Sequence[Any], has_next_page: bool) -> PageInfo:
        """A page's info: whether more follow, and the last edge's cursor (None: no edge)."""
        return cls(has_next_page=has_next_page, end_cursor=edges[-1].cursor if edges else None)


class Payload:
    """Base of every mutation payload: gives the subclass `errors: [UserError!]!`, empty on
    success. It is added as the subclass's own last field, where the contract lists it (a
    strawberry base type would put inherited fields first)."""

    errors: list[UserError]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__annotations__ = {**inspect.get_annotations(cls), "errors": list[UserError]}
        setattr(cls, "errors", strawberry.field(default_factory=list))  # noqa: B010


def row_field(source: str, description: str | None = None) -> Any:
    """A declared field that `from_row` copies from the row's attribute `source` (where the
    API's name differs from the row's)."""
    return strawberry.field(description=description, metadata={"row": source})


@overload
def from_row(cls: type[T], row: None, **given: Any) -> None: ...
@overload
def from_row(cls: type[T], row: Any, **given: Any) -> T: ...
def from_row(cls: type[T], row: Any, **given: Any) -> T | None:
    """`cls` with each declared field (a field without a resolver) copied from the row's
    attribute of the same name (or `row_field`'s), unless `given`; a private `model` field
    holds the row itself, for the fields that resolve more. A value takes the declared type
    where the row's differs: an id becomes an ID, a stored value its enum, a number a float
    or Decimal, a missing list [], a nested row its type (copied the same way). No row
    (None), no type."""
    if row is None:
        return None
    fields, keeps_row = _copied(cast(Hashable, cls))
    values = {
        name: convert(getattr(row, source)) for name, source, convert in fields if name not in given
    }
    if keeps_row:
        values["model"] = row
    return cls(**values, **given)


@functools.cache
def _copied(cls: Any) -> tuple[tuple[tuple[str, str, Convert], ...], bool]:
    """The declared fields of `cls` (name, row attribute, conversion), and whether it keeps
    the row as `model`; worked out on first use, once the schema has resolved every type."""
    definition = cls.__strawberry_definition__
    fields = tuple(
        (field.python_name, field.metadata.get("row", field.python_name), _convert(field.type))
        for field in definition.fields
        if field.base_resolver is None and not is_private(field.type)
    )
    return fields, "model" in {f.name for f in dataclasses.fields(cls)}


def _same(value: Any) -> Any:
    return value


def _id(value: Any) -> strawberry.ID:
    return strawberry.ID(str(value))


def _list(value: Any) -> list[Any]:
    return list(value or [])


def _convert(kind: Any) -> Convert:
    if isinstance(kind, StrawberryOptional):
        inner = _convert(kind.of_type)
        if inner in (_same, _list):
            return _same
        # A stored enum value may be empty as well as null.
        return lambda value: None if value is None or value == "" else inner(value)
    if isinstance(kind, LazyType):
        kind = kind.resolve_type()
    if isinstance(kind, StrawberryList):
        item = _convert(kind.of_type)
        return _list if item is _same else lambda value: [item(v) for v in value or []]
    if has_object_definition(kind):
        return lambda value: value if isinstance(value, kind) else from_row(kind, value)
    if kind is strawberry.ID:
        return _id
    if kind in (float, Decimal):
        return kind  # type: ignore[no-any-return]
    enum = getattr(kind, "wrapped_cls", None)
    if isinstance(enum, type) and issubclass(enum, Enum):
        return enum
    return _same


@overload
def from_input(cls: type[D], source: None, **given: Any) -> None: ...
@overload
def from_input(cls: type[D], source: Any, **given: Any) -> D: ...
def from_input(cls: type[D], source: Any, **given: Any) -> D | None:
    """The domain dataclass `cls` from a GraphQL input object: each of its fields copied from
    the input's field of the same name, unless `given` (ids to parse, values to convert). A
    null where the domain's field takes no None (`onePerDay: Boolean = false` sent as null)
    gets the domain's default. No input (None), no data."""
    if source is None:
        return None
    values = {}
    for name, nullable, default in _domain_fields(cast(Hashable, cls)):
        if name in given or not hasattr(source, name):
            continue
        value = getattr(source, name)
        values[name] = default() if value is None and not nullable and default else value
    return cls(**values, **given)


@functools.cache
def _domain_fields(cls: Any) -> tuple[tuple[str, bool, Callable[[], Any] | None], ...]:
    """Each field of dataclass `cls`: name, whether it takes None, and its default (a
    factory; None when it has none)."""
    hints = get_type_hints(cls)
    fields = []
    for field in dataclasses.fields(cls):
        nullable = type(None) in get_args(hints[field.name])
        default: Callable[[], Any] | None = None
        if field.default is not dataclasses.MISSING:
            default = functools.partial(_same, field.default)
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory
        fields.append((field.name, nullable, default))
    return tuple(fields)


def mutation(
    *permissions: type[BasePermission], description: str | None = None
) -> Callable[[Callable[..., Awaitable[Any]]], Any]:
    """A mutation open to callers that pass `permissions`, whose DomainErrors come back in
    its payload's `errors` (gql.errors.payload_errors): the payload is the resolver's
    return type, so each mutation names its permission and payload once."""

    def decorate(resolver: Callable[..., Awaitable[Any]]) -> Any:
        payload = get_type_hints(resolver)["return"]
        return strawberry.mutation(permission_classes=list(permissions), description=description)(
            payload_errors(payload)(resolver)
        )

    return decorate
