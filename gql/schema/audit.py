"""The audit trail of admin mutations: `auditLog` (admins)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from core import audit
from core.errors import InvalidInput
from core.ids import encode_cursor
from core.validation import MAX_LIST
from gql.context import Info
from gql.permissions import IsAdmin
from gql.types import PageInfo, from_row
from gql.validation import INT64_MAX, parse_cursor


@strawberry.type(description="One admin mutation: who called it, when, with what, and the outcome.")
class AuditEntry:
    id: strawberry.ID
    at: datetime
    actor: str = strawberry.field(description="'bootstrap admin key' or 'api key <id> (<prefix>)'.")
    operation: str = strawberry.field(description="The mutation's name.")
    arguments: JSON = strawberry.field(description="Its arguments, secrets redacted.")
    outcome: str = strawberry.field(
        description="'ok', 'error' (see errorCodes), or 'pending' if it never returned."
    )
    error_codes: list[str]


@strawberry.type
class AuditEntryEdge:
    cursor: str
    node: AuditEntry


@strawberry.type
class AuditLogConnection:
    edges: list[AuditEntryEdge]
    page_info: PageInfo


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[IsAdmin], description="Admin: newest first.")
    async def audit_log(
        self, info: Info, first: int = 50, after: str | None = None
    ) -> AuditLogConnection:
        if not 0 <= first <= MAX_LIST:
            raise InvalidInput(f"first must be 0..{MAX_LIST}", "first")
        before = parse_cursor(after, "after", INT64_MAX) if after is not None else None
        found = await audit.page(first, before)
        edges = [
            AuditEntryEdge(cursor=encode_cursor(row.id), node=from_row(AuditEntry, row))
            for row in found.entries
        ]
        return AuditLogConnection(
            edges=edges,
            page_info=PageInfo.of(edges, found.has_next),
        )
