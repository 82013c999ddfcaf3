"""Vouchers: the offer catalog (admin and member views), claiming, and checkout redemption."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from core import clock
from core.security import Role
from gql.context import Info
from gql.permissions import IsAdmin, IsMember, IsStaff
from gql.schema.members import Member
from gql.types import Payload, from_input, from_row, mutation
from gql.validation import parse_id
from members import service as members
from rewards.vouchers import service
from rewards.vouchers.models import Voucher as VoucherModel
from rewards.vouchers.models import VoucherOffer as OfferModel
from rewards.vouchers.service import DiscountType, VoucherStatus

strawberry.enum(DiscountType, name="DiscountType")
strawberry.enum(VoucherStatus, name="VoucherStatus")


@strawberry.type
class VoucherOffer:
    model: strawberry.Private[OfferModel]
    cost_for_me: strawberry.Private[int | None] = None
    id: strawberry.ID
    name: str
    description: str | None
    points_cost: int = strawberry.field(description="List price in points.")

    async def _points_cost_for_me(self, info: Info) -> int | None:
        if self.cost_for_me is not None:
            return self.cost_for_me
        viewer = info.context.viewer
        if viewer.role is not Role.MEMBER or viewer.member_id is None:
            return None
        percent = await info.context.loaders.voucher_discount.load(viewer.member_id)
        return service.price(self.model.points_cost, percent or Decimal(0))

    points_cost_for_me: int | None = strawberry.field(
        resolver=_points_cost_for_me,
        description="Member: price after the member's tier discount.",
    )
    discount_type: DiscountType
    discount_value: Decimal
    max_discount: Decimal | None
    min_order_amount: Decimal | None

    def _stock_remaining(self) -> int | None:
        return service.stock_remaining(self.model)

    stock_remaining: int | None = strawberry.field(resolver=_stock_remaining)
    per_member_limit: int
    valid_from: datetime | None
    valid_until: datetime | None
    hidden: bool
    stock: int | None = strawberry.field(
        description="Total vouchers it may issue; null = unlimited."
    )
    voucher_valid_days: int = strawberry.field(description="Days a claimed voucher stays usable.")
    tier_codes: list[str] | None
    segment_id: strawberry.ID | None


@strawberry.type
class Voucher:
    model: strawberry.Private[VoucherModel]
    code: str

    async def _offer(self, info: Info) -> VoucherOffer:
        offer = await info.context.loaders.voucher_offer.load(self.model.offer_id)
        assert offer is not None, "vouchers keep their offer (RESTRICT)"
        return from_row(VoucherOffer, offer)

    offer: VoucherOffer = strawberry.field(resolver=_offer)

    def _status(self) -> VoucherStatus:
        return service.status_of(self.model, clock.now())

    status: VoucherStatus = strawberry.field(resolver=_status)
    claimed_at: datetime
    expires_at: datetime
    redeemed_at: datetime | None
    order_id: str | None
    points_spent: int = strawberry.field(
        description="Points paid for it (0 when granted as a reward)."
    )


@strawberry.input
class VoucherOfferInput:
    name: str
    points_cost: int
    discount_type: DiscountType
    discount_value: Decimal
    description: str | None = None
    max_discount: Decimal | None = None
    min_order_amount: Decimal | None = None
    stock: int | None = strawberry.field(
        default=None, description="Total vouchers that may be claimed; null = unlimited."
    )
    per_member_limit: int | None = 1
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    voucher_valid_days: int | None = strawberry.field(
        default=30, description="Days a claimed voucher stays usable."
    )
    hidden: bool | None = strawberry.field(
        default=False,
        description="Hidden offers are not listed; members reach them by id.",
    )
    tier_codes: list[str] | None = None
    segment_id: strawberry.ID | None = None


@strawberry.input
class RedeemVoucherInput:
    code: str
    order_id: str
    order_amount: Decimal


@strawberry.type
class VoucherOfferPayload(Payload):
    offer: VoucherOffer | None = None


@strawberry.type
class VoucherPayload(Payload):
    voucher: Voucher | None = None
    member: Member | None = None


@strawberry.type
class RedeemVoucherPayload(Payload):
    voucher: Voucher | None = None
    discount: Decimal = strawberry.field(
        default=Decimal(0), description="Discount to apply to the order."
    )
    duplicate: bool = strawberry.field(
        default=False, description="True when this code was redeemed on this order before."
    )


@strawberry.type
class Query:
    @strawberry.field(
        permission_classes=[IsMember],
        description="Member: listed offers the member is eligible for.",
    )
    async def voucher_offers(self, info: Info) -> list[VoucherOffer]:
        views = await service.offers_for(info.context.member_id)
        return [from_row(VoucherOffer, v.offer, cost_for_me=v.cost_for_me) for v in views]

    @strawberry.field(
        permission_classes=[IsMember],
        description="Member: one offer by id, hidden ones included when the member is eligible.",
    )
    async def voucher_offer(self, info: Info, id: strawberry.ID) -> VoucherOffer | None:
        view = await service.offer_for(info.context.member_id, parse_id(id, "id"))
        return from_row(VoucherOffer, view.offer, cost_for_me=view.cost_for_me) if view else None

    @strawberry.field(permission_classes=[IsMember], description="Member.")
    async def my_vouchers(self, info: Info, status: VoucherStatus | None = None) -> list[Voucher]:
        return [
            from_row(Voucher, v) for v in await service.my_vouchers(info.context.member_id, status)
        ]

    @strawberry.field(permission_classes=[IsAdmin], description="Admin.")
    async def all_voucher_offers(self, info: Info) -> list[VoucherOffer]:
        return [from_row(VoucherOffer, o) for o in await service.all_offers()]

    @strawberry.field(
        permission_classes=[IsStaff],
        description="Admin or integration: look a voucher up by code before redeeming it.",
    )
    async def voucher(self, info: Info, code: str) -> Voucher | None:
        found = await service.find_by_code(code)
        return from_row(Voucher, found)


@strawberry.type
class Mutation:
    @mutation(IsAdmin)
    async def create_voucher_offer(
        self, info: Info, input: VoucherOfferInput
    ) -> VoucherOfferPayload:
        segment_id = parse_id(input.segment_id, "input.segmentId")
        offer = await service.create_offer(
            from_input(service.OfferData, input, segment_id=segment_id)
        )
        return VoucherOfferPayload(offer=from_row(VoucherOffer, offer))

    @mutation(IsMember)
    async def claim_voucher(self, info: Info, offer_id: strawberry.ID) -> VoucherPayload:
        member_id = info.context.member_id
        voucher = await service.claim(member_id, parse_id(offer_id, "offerId"))
        return VoucherPayload(
            voucher=from_row(Voucher, voucher),
            member=from_row(Member, await members.get_member(member_id)),
        )

    @mutation(IsStaff)
    async def redeem_voucher(self, info: Info, input: RedeemVoucherInput) -> RedeemVoucherPayload:
        done = await service.redeem(input.code, input.order_id, input.order_amount)
        return RedeemVoucherPayload(
            voucher=from_row(Voucher, done.voucher),
            discount=done.discount,
            duplicate=done.duplicate,
        )
