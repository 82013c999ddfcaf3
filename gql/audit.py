"""Every admin mutation of the served schema leaves an entry in the audit trail.

`install(schema)` wraps the resolver of each root Mutation field at schema-build time, so a
mutation added later is audited without code. A call made with an admin credential (the
bootstrap admin key or a stored admin key) is recorded by core.audit before it runs and
completed right after with "ok" or the error codes it returned or raised (refusals of bad
input included). Other callers pass straight through.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

from graphql import GraphQLError, GraphQLObjectType

from core import audit
from core.errors import DomainError
from core.security import Role

log = logging.getLogger("loyalty.audit")


def _codes_of_result(result: Any) -> list[str]:
    errors = getattr(result, "errors", None) or []
    return [getattr(getattr(e, "code", None), "value", "ERROR") for e in errors]


def _code_of_exception(exc: BaseException) -> str:
    if isinstance(exc, DomainError):
        return exc.code.value
    if isinstance(exc, GraphQLError):
        code = (exc.extensions or {}).get("code")
        if code:
            return str(code)
    return "INTERNAL"


def _audited(resolve: Callable[..., Any], operation: str) -> Callable[..., Any]:
    @functools.wraps(resolve)
    async def audited(source: Any, info: Any, **arguments: Any) -> Any:
        viewer = info.context.viewer
        if viewer.role is not Role.ADMIN:
            result = resolve(source, info, **arguments)
            return await result if inspect.isawaitable(result) else result
        entry = await audit.begin(viewer.who, viewer.key_id, operation, arguments)
        try:
            result = resolve(source, info, **arguments)
            if inspect.isawaitable(result):
                result = await result
        except BaseException as exc:
            await _finish(entry, [_code_of_exception(exc)])
            raise
        await _finish(entry, _codes_of_result(result))
        return result

    audited.__loyalty_audited__ = True  # type: ignore[attr-defined]
    return audited


async def _finish(entry: int, codes: list[str]) -> None:
    # The change is made (or refused) already: a failed update must not hide its answer.
    try:
        await audit.finish(entry, codes)
    except Exception:
        log.exception("could not complete audit entry %s (left pending)", entry)


def install(schema: Any) -> int:
    """Audit every root Mutation field of `schema` (a strawberry Schema)."""
    mutation = schema._schema.mutation_type
    if not isinstance(mutation, GraphQLObjectType):
        return 0
    for name, field in mutation.fields.items():
        if field.resolve is not None and not getattr(field.resolve, "__loyalty_audited__", False):
            field.resolve = _audited(field.resolve, name)
    return len(mutation.fields)
