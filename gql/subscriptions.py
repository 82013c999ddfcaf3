"""Member events, built and executed once for every socket that shares them.

A published message's "type" names the builder of its GraphQL object (each schema area
registers its own). One event often goes to many sockets (a member's phone, tablet and
web page; a demo wall of a thousand): the process decodes the message once
(core/pubsub), builds its object once (`build`, kept on the decoded message), and runs
each distinct selection on it once (`SharedEvents`: the first socket's execution result,
reused by every socket of the same member with the same document and variables). What is
left per socket is the frame: its JSON and the write.

The per-connection subscription cap is strawberry's own (server/app.py sets it)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from gql.context import Info
from gql.scalars import WholeNumbers

# "type" of a published member message -> async builder of its GraphQL object.
# Each schema area registers the event types it owns.
MemberEventBuilder = Callable[[dict[str, Any], Info], Awaitable[Any]]
MEMBER_EVENT_BUILDERS: dict[str, MemberEventBuilder] = {}


def member_event(type_name: str) -> Callable[[MemberEventBuilder], MemberEventBuilder]:
    def register(builder: MemberEventBuilder) -> MemberEventBuilder:
        MEMBER_EVENT_BUILDERS[type_name] = builder
        return builder

    return register


_BUILT = "__built__"  # the decoded message's own key for its built object (a future)


async def build(message: dict[str, Any], info: Info) -> Any | None:
    """The GraphQL object of `message`, built once for every socket that reads it."""
    found = message.get(_BUILT)
    if found is None:
        builder = MEMBER_EVENT_BUILDERS.get(message.get("type", ""))
        if builder is None:
            return None
        found = message[_BUILT] = asyncio.ensure_future(_shareable(builder(message, info)))
    return await found


_RESULTS = "_shared_results"  # on a built event: (member, document, variables) -> result


async def _shareable(built: Awaitable[Any]) -> Any:
    event = await built
    setattr(event, _RESULTS, {})
    return event


class SharedEvents(WholeNumbers):
    """The schema's executor: a subscription event's selection runs once per member,
    document and variables; every other socket gets the same result."""

    def execute_operation(self, serially: bool | None = None) -> Any:
        results: dict[tuple[Any, ...], Any] | None = getattr(self.root_value, _RESULTS, None)
        if results is None:
            return super().execute_operation(serially)
        viewer = getattr(self.context_value, "viewer", None)
        loc = self.operation.loc
        key = (
            getattr(viewer, "member_id", None),
            loc.source.body if loc is not None else id(self.operation),
            self.operation.name.value if self.operation.name else None,
            repr(sorted(self.variable_values.coerced.items())),
        )
        found = results.get(key)
        if found is None:
            result = super().execute_operation(serially)
            if not self.is_awaitable(result):
                results[key] = result
                return result
            found = results[key] = asyncio.ensure_future(result)
        if isinstance(found, asyncio.Future):
            return _awaited(found)
        return found


async def _awaited(future: asyncio.Future[Any]) -> Any:
    return await asyncio.shield(future)  # one socket closing must not cancel the others'
