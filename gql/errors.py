"""DomainError -> API errors, in one place.

Mutations return payloads: `@payload_errors(Payload)` turns a DomainError raised by the
domain call into `Payload(errors=[UserError])`. Everything else that goes wrong becomes a
top-level error: `ErrorCodes` gives expected ones an extensions.code from the contract
and hides unexpected ones behind a generic message in production (the log keeps them).

A DomainError names the field at fault the domain's way (`points`, `order_id`,
`segments.2.prize.voucher_offer_id`); `api_path` says it the API's way, for both.
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
import traceback
from collections.abc import Awaitable, Callable, Collection, Iterator, Sequence
from typing import Any, ParamSpec, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from tortoise.exceptions import DoesNotExist

from core.errors import DomainError, NotFound
from core.errors import ErrorCode as DomainErrorCode

log = logging.getLogger("loyalty.api")

# Registers the domain enum with strawberry; fields are annotated with DomainErrorCode.
strawberry.enum(DomainErrorCode, name="ErrorCode")


@strawberry.type
class UserError:
    code: DomainErrorCode
    message: str
    field: list[str] | None = strawberry.field(
        default=None, description="Input path of the offending field, e.g. ['input', 'amount']."
    )


# Where the API calls a domain field otherwise than its name in camelCase, per operation:
# the field's first part -> the API's path for it.
FIELD_PATHS: dict[str, dict[str, list[str]]] = {
    # The input's `type` is the domain's action_type (an action's kind).
    "trackAction": {"action_type": ["input", "type"]},
}


def camel(name: str) -> str:
    """A domain name as the API spells it: order_id -> orderId (orderId stays orderId)."""
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def api_path(
    field: Sequence[str] | None, operation: str = "", arguments: Collection[str] | None = None
) -> list[str] | None:
    """The API's path of the field a DomainError names: each part in camelCase (order_id is
    orderId; list indexes stay), FIELD_PATHS holding the exceptions.

    Raised by a mutation, `operation`, whose own arguments are `arguments` (as the API spells
    them): a field that is one of them is named alone (issueMemberToken's memberExternalId),
    any other is under `input` (recordOrder's ["input", "orderId"]), also in the mutations
    that take no input (spin's INSUFFICIENT_POINTS names ["input", "points"], as it always
    has). Raised elsewhere (a top-level error: queries take no input) it is one of the
    field's arguments. A path already the API's (["input", "segmentId"], ["ids", "3"], from
    gql's own checks) comes back unchanged.
    """
    if not field:
        return None
    first, *rest = field
    known = FIELD_PATHS.get(operation, {}).get(first)
    if known is not None:
        return [*known, *(camel(part) for part in rest)]
    path = [camel(part) for part in field]
    if arguments is None or path[0] in arguments:
        return path
    return ["input", *path]


def user_error(exc: DomainError, field: list[str] | None) -> UserError:
    """The UserError of `exc`, naming `field` (the API's path: see api_path)."""
    return UserError(code=exc.code, message=exc.message, field=field)


P = ParamSpec("P")
T = TypeVar("T")


def payload_errors(
    payload: Callable[..., T],
) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """Return `payload(errors=[...])` when the resolver raises a DomainError."""

    def decorate(resolver: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        operation = camel(resolver.__name__)
        arguments = {
            camel(name)
            for name in inspect.signature(resolver).parameters
            if name not in ("self", "root", "info")
        }

        @functools.wraps(resolver)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return await resolver(*args, **kwargs)
            except DomainError as exc:
                field = api_path(exc.field, operation, arguments)
                return payload(errors=[user_error(exc, field)])

        return wrapper

    return decorate


GENERIC_MESSAGE = "Internal server error"


def _is_request_error(error: GraphQLError) -> bool:
    """Parse and validation failures (syntax, unknown fields, depth/alias/token limits) and
    variables that do not coerce (an unknown enum value, a malformed Decimal): the request
    is at fault, not the server. Execution errors always carry a path."""
    original = error.original_error
    return original is None or (
        error.path is None and isinstance(original, GraphQLError | ValueError)
    )


def _as_domain_error(original: BaseException | None) -> DomainError | None:
    """A DomainError, or what a row that is not there means: NOT_FOUND (e.g. the member of a
    still-valid token was erased), rather than an internal error."""
    if isinstance(original, DomainError):
        return original
    if isinstance(original, DoesNotExist):
        return NotFound("not found")
    return None


def is_expected(error: GraphQLError) -> bool:
    original = error.original_error
    return (
        _as_domain_error(original) is not None
        or _is_request_error(error)
        or "code" in (error.extensions or {})
        or (isinstance(original, GraphQLError) and "code" in (original.extensions or {}))
    )


LOGGED_LINE = 500


def _cut(text: str) -> str:
    """A line of a log entry, cut so a huge input value never lands in the log whole."""
    if len(text) <= LOGGED_LINE:
        return text
    return f"{text[:LOGGED_LINE]}…(+{len(text) - LOGGED_LINE} characters)"


def log_unexpected(errors: list[GraphQLError]) -> None:
    """Keep the traceback of what went wrong in the server; expected errors are not logged.

    Every line is cut to LOGGED_LINE characters: exception messages may quote input.
    """
    for error in errors:
        if is_expected(error):
            continue
        original = error.original_error
        lines = "".join(traceback.format_exception(original)).splitlines() if original else []
        if len(error.message) <= LOGGED_LINE and all(len(x) <= LOGGED_LINE for x in lines):
            log.error("unexpected error at %s: %s", error.path, error.message, exc_info=original)
        else:
            trace = "\n".join(_cut(line) for line in lines)
            log.error("unexpected error at %s: %s\n%s", error.path, _cut(error.message), trace)


_SUGGESTION = re.compile(r"\s*Did you mean .*$", re.DOTALL)


def without_suggestions(message: str) -> str:
    """graphql-core's "Did you mean 'x'?" names fields, arguments, types and enum values:
    production hides the schema, so it is cut from every message."""
    return _SUGGESTION.sub("", message) if "Did you mean" in message else message


def _format(error: GraphQLError, production: bool) -> GraphQLError:
    if production and "Did you mean" in error.message:
        error.message = without_suggestions(error.message)
    original = error.original_error
    extensions = dict(error.extensions or {})
    domain = _as_domain_error(original)
    if domain is not None:
        extensions["code"] = domain.code.value
        # Only mutations take an `input`: here the field is one of the field's arguments.
        field = api_path(domain.field)
        if field:
            extensions["field"] = field
        return GraphQLError(
            domain.message,
            error.nodes,
            error.source,
            error.positions,
            error.path,
            None,
            extensions,
        )
    if _is_request_error(error):
        extensions.setdefault("code", DomainErrorCode.INVALID_INPUT.value)
        error.extensions = extensions
        return error
    if isinstance(original, GraphQLError) and original.extensions and "code" in original.extensions:
        return error
    if "code" in extensions:
        return error
    # Unexpected: process_errors (LoyaltySchema) logged it with its traceback already.
    if production:
        return GraphQLError(
            GENERIC_MESSAGE, error.nodes, error.source, error.positions, error.path, None, {}
        )
    return error


class ErrorCodes(SchemaExtension):
    """Give every expected top-level error a contract code; mask the unexpected ones."""

    production = False

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [_format(e, self.production) for e in result.errors]

    def on_stream_result(self, result: Any) -> Iterator[None]:
        """The same for each result sent over a websocket (subscriptions)."""
        if getattr(result, "errors", None):
            result.errors = [_format(e, self.production) for e in result.errors]
        yield


def error_codes(production: bool) -> type[ErrorCodes]:
    return type("ErrorCodes", (ErrorCodes,), {"production": production})


def code_of(error: Any) -> str | None:
    return (getattr(error, "extensions", None) or {}).get("code")
