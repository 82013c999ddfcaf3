"""Orders: `recordOrder` and `refundOrder` (rewards/orders/), and the Order type."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from gql.context import Info
from gql.permissions import IsStaff
from gql.schema.members import Member
from gql.types import Payload, from_row, mutation
from rewards.orders import service as orders
from rewards.orders.models import OrderStatus

strawberry.enum(OrderStatus, name="OrderStatus")


@strawberry.type
class Order:
    model: strawberry.Private[orders.Order]
    order_id: str

    async def _member(self, info: Info) -> Member:
        found = await info.context.loaders.member.load(self.model.member_id)
        assert found is not None, "an order's member exists (foreign key)"
        return from_row(Member, found)

    member: Member = strawberry.field(resolver=_member)
    amount: Decimal
    refunded_amount: Decimal
    status: OrderStatus
    occurred_at: datetime
    points_earned: int
    tier_points_earned: int


@strawberry.input
class RecordOrderInput:
    order_id: str
    member_external_id: str
    amount: Decimal
    occurred_at: datetime | None = None
    channel: str | None = None


@strawberry.type
class RecordOrderPayload(Payload):
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
class RefundOrderPayload(Payload):
    order: Order | None = None
    points_reversed: int = 0
    duplicate: bool = False


@strawberry.type
class Mutation:
    @mutation(IsStaff)
    async def record_order(self, info: Info, input: RecordOrderInput) -> RecordOrderPayload:
        r = await orders.record_order(
            input.order_id, input.member_external_id, input.amount, input.occurred_at, input.channel
        )
        return RecordOrderPayload(
            order=from_row(Order, r.order),
            points_earned=r.points_earned,
            tier_points_earned=r.tier_points_earned,
            referral_points_awarded=r.referral_points_awarded,
            duplicate=r.duplicate,
        )

    @mutation(IsStaff)
    async def refund_order(self, info: Info, input: RefundOrderInput) -> RefundOrderPayload:
        r = await orders.refund_order(input.order_id, input.refund_id, input.amount)
        return RefundOrderPayload(
            order=from_row(Order, r.order), points_reversed=r.points_reversed, duplicate=r.duplicate
        )
