"""Vouchers: the offer catalog (admin and member views), claiming, and checkout redemption."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from core import clock
from core.security import Role
from gql.context import Info
from gql.errors import UserError, payload_errors
from gql.permissions import IsAdmin, IsMember, IsStaff
from gql.schema.members import Member, member_type
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

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field
    def name(self) -> str:
        return self.model.name

    @strawberry.field
    def description(self) -> str | None:
        return self.model.description

    @strawberry.field(description="List price in points.")
    def points_cost(self) -> int:
        return self.model.points_cost

    @strawberry.field(description="Member: price after the member's tier discount.")
    async def points_cost_for_me(self, info: Info) -> int | None:
        if self.cost_for_me is not None:
            return self.cost_for_me
        viewer = info.context.viewer
        if viewer.role is not Role.MEMBER or viewer.member_id is None:
            return None
        percent = await info.context.loaders.voucher_discount.load(viewer.member_id)
        return service.price(self.model.points_cost, percent or Decimal(0))

    @strawberry.field
    def discount_type(self) -> DiscountType:
        return DiscountType(self.model.discount_type)

    @strawberry.field
    def discount_value(self) -> Decimal:
        return self.model.discount_value

    @strawberry.field
    def max_discount(self) -> Decimal | None:
        return self.model.max_discount

    @strawberry.field
    def min_order_amount(self) -> Decimal | None:
        return self.model.min_order_amount

    @strawberry.field
    def stock_remaining(self) -> int | None:
        return service.stock_remaining(self.model)

    @strawberry.field
    def per_member_limit(self) -> int:
        return self.model.per_member_limit

    @strawberry.field
    def valid_from(self) -> datetime | None:
        return self.model.valid_from

    @strawberry.field
    def valid_until(self) -> datetime | None:
        return self.model.valid_until

    @strawberry.field
    def hidden(self) -> bool:
        return self.model.hidden

    @strawberry.field(description="Total vouchers it may issue; null = unlimited.")
    def stock(self) -> int | None:
        return self.model.stock

    @strawberry.field(description="Days a claimed voucher stays usable.")
    def voucher_valid_days(self) -> int:
        return self.model.voucher_valid_days

    @strawberry.field
    def tier_codes(self) -> list[str] | None:
        return self.model.tier_codes

    @strawberry.field
    def segment_id(self) -> strawberry.ID | None:
        return strawberry.ID(str(self.model.segment_id)) if self.model.segment_id else None


def offer_type(model: OfferModel, cost_for_me: int | None = None) -> VoucherOffer:
    return VoucherOffer(model=model, cost_for_me=cost_for_me)


@strawberry.type
class Voucher:
    model: strawberry.Private[VoucherModel]

    @strawberry.field
    def code(self) -> str:
        return self.model.code

    @strawberry.field
    async def offer(self, info: Info) -> VoucherOffer:
        offer = await info.context.loaders.voucher_offer.load(self.model.offer_id)
        assert offer is not None, "vouchers keep their offer (RESTRICT)"
        return offer_type(offer)

    @strawberry.field
    def status(self) -> VoucherStatus:
        return service.status_of(self.model, clock.now())

    @strawberry.field
    def claimed_at(self) -> datetime:
        return self.model.claimed_at

    @strawberry.field
    def expires_at(self) -> datetime:
        return self.model.expires_at

    @strawberry.field
    def redeemed_at(self) -> datetime | None:
        return self.model.redeemed_at

    @strawberry.field
    def order_id(self) -> str | None:
        return self.model.order_id

    @strawberry.field(description="Points paid for it (0 when granted as a reward).")
    def points_spent(self) -> int:
        return self.model.points_spent


def voucher_type(model: VoucherModel) -> Voucher:
    return Voucher(model=model)


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

    def to_data(self) -> service.OfferData:
        return service.OfferData(
            name=self.name,
            description=self.description,
            points_cost=self.points_cost,
            discount_type=self.discount_type,
            discount_value=self.discount_value,
            max_discount=self.max_discount,
            min_order_amount=self.min_order_amount,
            stock=self.stock,
            per_member_limit=self.per_member_limit,
            valid_from=self.valid_from,
            valid_until=self.valid_until,
            voucher_valid_days=self.voucher_valid_days,
            hidden=bool(self.hidden),
            tier_codes=self.tier_codes,
            segment_id=(
                parse_id(self.segment_id, "input.segmentId")
                if self.segment_id is not None
                else None
            ),
        )


@strawberry.input
class RedeemVoucherInput:
    code: str
    order_id: str
    order_amount: Decimal


@strawberry.type
class VoucherOfferPayload:
    offer: VoucherOffer | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class VoucherPayload:
    voucher: Voucher | None = None
    member: Member | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RedeemVoucherPayload:
    voucher: Voucher | None = None
    discount: Decimal = strawberry.field(
        default=Decimal(0), description="Discount to apply to the order."
    )
    duplicate: bool = strawberry.field(
        default=False, description="True when this code was redeemed on this order before."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


def _member_id(info: Info) -> int:
    member_id = info.context.viewer.member_id
    assert member_id is not None, "IsMember guarantees a member"
    return member_id


@strawberry.type
class Query:
    @strawberry.field(
        permission_classes=[IsMember],
        description="Member: listed offers the member is eligible for.",
    )
    async def voucher_offers(self, info: Info) -> list[VoucherOffer]:
        views = await service.offers_for(_member_id(info))
        return [offer_type(v.offer, v.cost_for_me) for v in views]

    @strawberry.field(
        permission_classes=[IsMember],
        description="Member: one offer by id, hidden ones included when the member is eligible.",
    )
    async def voucher_offer(self, info: Info, id: strawberry.ID) -> VoucherOffer | None:
        view = await service.offer_for(_member_id(info), parse_id(id, "id"))
        return offer_type(view.offer, view.cost_for_me) if view else None

    @strawberry.field(permission_classes=[IsMember], description="Member.")
    async def my_vouchers(self, info: Info, status: VoucherStatus | None = None) -> list[Voucher]:
        return [voucher_type(v) for v in await service.my_vouchers(_member_id(info), status)]

    @strawberry.field(permission_classes=[IsAdmin], description="Admin.")
    async def all_voucher_offers(self, info: Info) -> list[VoucherOffer]:
        return [offer_type(o) for o in await service.all_offers()]

    @strawberry.field(
        permission_classes=[IsStaff],
        description="Admin or integration: look a voucher up by code before redeeming it.",
    )
    async def voucher(self, info: Info, code: str) -> Voucher | None:
        found = await service.find_by_code(code)
        return voucher_type(found) if found else None


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[IsAdmin])
    @payload_errors(VoucherOfferPayload)
    async def create_voucher_offer(
        self, info: Info, input: VoucherOfferInput
    ) -> VoucherOfferPayload:
        return VoucherOfferPayload(offer=offer_type(await service.create_offer(input.to_data())))

    @strawberry.mutation(permission_classes=[IsMember])
    @payload_errors(VoucherPayload)
    async def claim_voucher(self, info: Info, offer_id: strawberry.ID) -> VoucherPayload:
        member_id = _member_id(info)
        voucher = await service.claim(member_id, parse_id(offer_id, "offerId"))
        return VoucherPayload(
            voucher=voucher_type(voucher), member=member_type(await members.get_member(member_id))
        )

    @strawberry.mutation(permission_classes=[IsStaff])
    @payload_errors(RedeemVoucherPayload)
    async def redeem_voucher(self, info: Info, input: RedeemVoucherInput) -> RedeemVoucherPayload:
        done = await service.redeem(input.code, input.order_id, input.order_amount)
        return RedeemVoucherPayload(
            voucher=voucher_type(done.voucher), discount=done.discount, duplicate=done.duplicate
        )
