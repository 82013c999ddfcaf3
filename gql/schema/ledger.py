"""Points: orders, refunds, redemption, adjustments, history and the ledger audit."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from gql.context import Info
from gql.errors import UserError, payload_errors
from gql.permissions import IsAdmin, IsMember, IsStaff
from gql.scalars import BigInt
from gql.schema.ledger_types import LedgerReason  # noqa: F401 - registers the enum
from gql.schema.members import Member, PageInfo, member_type
from rewards.ledger import audit, history, spending
from rewards.ledger.models import Posting
from rewards.ledger.reasons import Reason
from rewards.orders import service as orders
from rewards.orders.models import OrderStatus

strawberry.enum(OrderStatus, name="OrderStatus")


@strawberry.type
class LedgerEntry:
    id: strawberry.ID
    points: int = strawberry.field(description="Positive credits the member, negative debits.")
    reason: Reason
    description: str | None
    created_at: datetime
    available_at: datetime | None = strawberry.field(
        description="When these points become spendable (pending entries)."
    )
    expires_at: datetime | None
    order_id: str | None


def entry_type(p: Posting) -> LedgerEntry:
    return LedgerEntry(
        id=strawberry.ID(str(p.id)),
        points=int(p.delta),
        reason=Reason(p.reason),
        description=p.description,
        created_at=p.created_at,
        available_at=p.available_at,
        expires_at=p.expires_at,
        order_id=p.order_id,
    )


@strawberry.type
class LedgerEntryEdge:
    cursor: str
    node: LedgerEntry


@strawberry.type
class LedgerEntryConnection:
    edges: list[LedgerEntryEdge]
    page_info: PageInfo


@strawberry.type
class Order:
    model: strawberry.Private[orders.Order]

    @strawberry.field
    def order_id(self) -> str:
        return self.model.order_id

    @strawberry.field
    async def member(self, info: Info) -> Member:
        found = await info.context.loaders.member.load(self.model.member_id)
        assert found is not None, "an order's member exists (foreign key)"
        return member_type(found)

    @strawberry.field
    def amount(self) -> Decimal:
        return Decimal(self.model.amount)

    @strawberry.field
    def refunded_amount(self) -> Decimal:
        return Decimal(self.model.refunded_amount)

    @strawberry.field
    def status(self) -> OrderStatus:
        return OrderStatus(self.model.status)

    @strawberry.field
    def occurred_at(self) -> datetime:
        return self.model.occurred_at

    @strawberry.field
    def points_earned(self) -> int:
        return self.model.points_earned

    @strawberry.field
    def tier_points_earned(self) -> int:
        return self.model.tier_points_earned


@strawberry.input
class RecordOrderInput:
    order_id: str
    member_external_id: str
    amount: Decimal
    occurred_at: datetime | None = None
    channel: str | None = None


@strawberry.type
class RecordOrderPayload:
    order: Order | None = None
    points_earned: int = 0
    tier_points_earned: int = 0
    referral_points_awarded: int = strawberry.field(
        default=0, description="Points credited to the member who referred the buyer."
    )
    duplicate: bool = strawberry.field(
        default=False,
        description="True when this orderId was recorded before and nothing changed now.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class RefundOrderInput:
    order_id: str
    refund_id: str = strawberry.field(
        description="Unique per refund; a retried refund with the same id changes nothing."
    )
    amount: Decimal | None = strawberry.field(
        default=None, description="Amount refunded; omitted = the whole remaining amount."
    )


@strawberry.type
class RefundOrderPayload:
    order: Order | None = None
    points_reversed: int = 0
    duplicate: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class RedeemPointsInput:
    member_external_id: str
    points: int
    order_id: str
    idempotency_key: str


@strawberry.type
class RedeemPointsPayload:
    discount: Decimal = strawberry.field(
        default=Decimal(0),
        description="Currency value of the redeemed points, to discount the order.",
    )
    member: Member | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class AdjustPointsInput:
    member_external_id: str
    points: int
    reason: str
    idempotency_key: str


@strawberry.type
class AdjustPointsPayload:
    entry: LedgerEntry | None = None
    member: Member | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


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
        assert info.context.viewer.member_id is not None
        page = await history.history(info.context.viewer.member_id, first, after)
        edges = [
            LedgerEntryEdge(cursor=history.cursor(p), node=entry_type(p)) for p in page.entries
        ]
        return LedgerEntryConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None
            ),
        )

    @strawberry.field(permission_classes=[IsAdmin], description="Admin.")
    async def ledger_audit(self, info: Info) -> LedgerAudit:
        a = await audit.audit()
        return LedgerAudit(
            balanced=a.balanced,
            points_issued=BigInt(a.points_issued),
            points_redeemed=BigInt(a.points_redeemed),
            points_expired=BigInt(a.points_expired),
            points_outstanding=BigInt(a.points_outstanding),
            liability=a.liability,
            accounts_out_of_balance=a.accounts_out_of_balance,
        )


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[IsStaff])
    @payload_errors(RecordOrderPayload)
    async def record_order(self, info: Info, input: RecordOrderInput) -> RecordOrderPayload:
        r = await orders.record_order(
            input.order_id, input.member_external_id, input.amount, input.occurred_at, input.channel
        )
        return RecordOrderPayload(
            order=Order(model=r.order),
            points_earned=r.points_earned,
            tier_points_earned=r.tier_points_earned,
            referral_points_awarded=r.referral_points_awarded,
            duplicate=r.duplicate,
        )

    @strawberry.mutation(permission_classes=[IsStaff])
    @payload_errors(RefundOrderPayload)
    async def refund_order(self, info: Info, input: RefundOrderInput) -> RefundOrderPayload:
        r = await orders.refund_order(input.order_id, input.refund_id, input.amount)
        return RefundOrderPayload(
            order=Order(model=r.order), points_reversed=r.points_reversed, duplicate=r.duplicate
        )

    @strawberry.mutation(permission_classes=[IsStaff])
    @payload_errors(RedeemPointsPayload)
    async def redeem_points(self, info: Info, input: RedeemPointsInput) -> RedeemPointsPayload:
        r = await spending.redeem_points(
            input.member_external_id, input.points, input.order_id, input.idempotency_key
        )
        return RedeemPointsPayload(discount=r.discount, member=member_type(r.member))

    @strawberry.mutation(permission_classes=[IsAdmin])
    @payload_errors(AdjustPointsPayload)
    async def adjust_points(self, info: Info, input: AdjustPointsInput) -> AdjustPointsPayload:
        r = await spending.adjust_points(
            input.member_external_id, input.points, input.reason, input.idempotency_key
        )
        return AdjustPointsPayload(entry=entry_type(r.entry), member=member_type(r.member))
