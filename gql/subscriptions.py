"""Member-event decoding: published message "type" -> GraphQL object.

The per-connection subscription cap is strawberry's own (server/app.py sets it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from gql.context import Info

# "type" of a published member message -> async builder of its GraphQL object.
# Each schema area registers the event types it owns.
MemberEventBuilder = Callable[[dict[str, Any], Info], Awaitable[Any]]
MEMBER_EVENT_BUILDERS: dict[str, MemberEventBuilder] = {}


def member_event(type_name: str) -> Callable[[MemberEventBuilder], MemberEventBuilder]:
    def register(builder: MemberEventBuilder) -> MemberEventBuilder:
        MEMBER_EVENT_BUILDERS[type_name] = builder
        return builder

    return register
