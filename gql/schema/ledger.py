"""Points: redemption, adjustments, history and the ledger audit."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from gql.context import Info
from gql.permissions import IsAdmin, IsMember, IsStaff
from gql.scalars import BigInt
from gql.schema.ledger_types import LedgerReason  # noqa: F401 - registers the enum
from gql.schema.members import Member
from gql.types import PageInfo, Payload, from_row, mutation, row_field
from rewards.ledger import audit, history, spending
from rewards.ledger.reasons import Reason


@strawberry.type
class LedgerEntry:
    id: strawberry.ID
    points: int = row_field("delta", "Positive credits the member, negative debits.")
    reason: Reason
    description: str | None
    created_at: datetime
    available_at: datetime | None = strawberry.field(
        description="When these points become spendable (pending entries)."
    )
    expires_at: datetime | None
    order_id: str | None


@strawberry.type
class LedgerEntryEdge:
    cursor: str
    node: LedgerEntry


@strawberry.type
class LedgerEntryConnection:
    edges: list[LedgerEntryEdge]
    page_info: PageInfo


@strawberry.input
class RedeemPointsInput:
    member_external_id: str
    points: int
    order_id: str
    idempotency_key: str


@strawberry.type
class RedeemPointsPayload(Payload):
    discount: Decimal = strawberry.field(
        default=Decimal(0),
        description="Currency value of the redeemed points, to discount the order.",
    )
    member: Member | None = None


@strawberry.input
class AdjustPointsInput:
    member_external_id: str
    points: int
    reason: str
    idempotency_key: str


@strawberry.type
class AdjustPointsPayload(Payload):
    entry: LedgerEntry | None = None
    member: Member | None = None


@strawberry.type
class LedgerAudit:
    balanced: bool = strawberry.field(
        description="True when every posting pairs up and every balance equals its postings."
    )
    points_issued: BigInt
    points_redeemed: BigInt
    points_expired: BigInt
    points_outstanding: BigInt
    liability: Decimal = strawberry.field(
        description="pointsOutstanding valued at pointValue: what the program owes."
    )
    accounts_out_of_balance: int


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[IsMember], description="Member.")
    async def points_history(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> LedgerEntryConnection:
        page = await history.history(info.context.member_id, first, after)
        edges = [
            LedgerEntryEdge(cursor=history.cursor(p), node=from_row(LedgerEntry, p))
            for p in page.entries
        ]
        return LedgerEntryConnection(
            edges=edges,
            page_info=PageInfo.of(edges, page.has_next),
        )

    @strawberry.field(permission_classes=[IsAdmin], description="Admin.")
    async def ledger_audit(self, info: Info) -> LedgerAudit:
        return from_row(LedgerAudit, await audit.audit())


@strawberry.type
class Mutation:
    @mutation(IsStaff)
    async def redeem_points(self, info: Info, input: RedeemPointsInput) -> RedeemPointsPayload:
        r = await spending.redeem_points(
            input.member_external_id, input.points, input.order_id, input.idempotency_key
        )
        return RedeemPointsPayload(discount=r.discount, member=from_row(Member, r.member))

    @mutation(IsAdmin)
    async def adjust_points(self, info: Info, input: AdjustPointsInput) -> AdjustPointsPayload:
        r = await spending.adjust_points(
            input.member_external_id, input.points, input.reason, input.idempotency_key
        )
        return AdjustPointsPayload(
            entry=from_row(LedgerEntry, r.entry), member=from_row(Member, r.member)
        )
