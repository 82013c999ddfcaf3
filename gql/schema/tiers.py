"""Tiers and promotions: `tiers`, `upsertTier`, `deleteTier`, `promotions`, `createPromotion`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from gql.context import Info
from gql.errors import UserError, payload_errors
from gql.permissions import IsAdmin, IsSignedIn
from rewards import promotions
from rewards.promotions import Promotion as PromotionModel
from rewards.tiers import service as tiers
from rewards.tiers.models import Tier as TierModel


@strawberry.type
class Tier:
    code: str
    name: str
    description: str | None
    threshold: int
    earn_multiplier: float
    voucher_discount_percent: float = strawberry.field(
        description="Percent taken off the points price of every voucher offer."
    )
    price_list_code: str | None
    perks: list[str]

    @classmethod
    def from_model(cls, t: TierModel) -> Tier:
        return cls(
            code=t.code,
            name=t.name,
            description=t.description,
            threshold=t.threshold,
            earn_multiplier=float(t.earn_multiplier),
            voucher_discount_percent=float(t.voucher_discount_percent),
            price_list_code=t.price_list_code,
            perks=list(t.perks or []),
        )


def tier_type(t: TierModel | None) -> Tier | None:
    return Tier.from_model(t) if t is not None else None


@strawberry.input
class TierInput:
    code: str
    name: str
    description: str | None = None
    threshold: int
    earn_multiplier: float | None = 1.0
    voucher_discount_percent: float | None = 0.0
    price_list_code: str | None = None
    perks: list[str] | None = None

    def to_data(self) -> tiers.TierData:
        return tiers.TierData(
            code=self.code,
            name=self.name,
            threshold=self.threshold,
            description=self.description,
            earn_multiplier=Decimal(
                str(1.0 if self.earn_multiplier is None else self.earn_multiplier)
            ),
            voucher_discount_percent=Decimal(str(self.voucher_discount_percent or 0)),
            price_list_code=self.price_list_code,
            perks=list(self.perks or []),
        )


@strawberry.type
class TierPayload:
    tier: Tier | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Promotion:
    id: strawberry.ID
    name: str
    multiplier: float
    starts_at: datetime
    ends_at: datetime
    days_of_week: list[int] | None
    tier_codes: list[str] | None
    action_types: list[str] | None

    @classmethod
    def from_model(cls, p: PromotionModel) -> Promotion:
        return cls(
            id=strawberry.ID(str(p.id)),
            name=p.name,
            multiplier=float(p.multiplier),
            starts_at=p.starts_at,
            ends_at=p.ends_at,
            days_of_week=p.days_of_week,
            tier_codes=p.tier_codes,
            action_types=p.action_types,
        )


@strawberry.input
class PromotionInput:
    name: str
    multiplier: float = strawberry.field(
        description="Multiplies points from matching orders and actions (2.0 = double points)."
    )
    starts_at: datetime
    ends_at: datetime
    days_of_week: list[int] | None = strawberry.field(
        default=None, description="ISO weekdays 1..7 on which it applies; null = every day."
    )
    tier_codes: list[str] | None = None
    action_types: list[str] | None = strawberry.field(
        default=None,
        description="Action types it applies to; 'order' stands for orders; null = all.",
    )

    def to_data(self) -> promotions.PromotionData:
        return promotions.PromotionData(
            name=self.name,
            multiplier=Decimal(str(self.multiplier)),
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            days_of_week=self.days_of_week,
            tier_codes=self.tier_codes,
            action_types=self.action_types,
        )


@strawberry.type
class PromotionPayload:
    promotion: Promotion | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[IsSignedIn])
    async def tiers(self, info: Info) -> list[Tier]:
        return [Tier.from_model(t) for t in await tiers.list_tiers()]

    @strawberry.field(permission_classes=[IsAdmin], description="Admin.")
    async def promotions(self, info: Info) -> list[Promotion]:
        return [Promotion.from_model(p) for p in await promotions.list_promotions()]


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[IsAdmin])
    @payload_errors(TierPayload)
    async def upsert_tier(self, info: Info, input: TierInput) -> TierPayload:
        return TierPayload(tier=Tier.from_model(await tiers.upsert_tier(input.to_data())))

    @strawberry.mutation(permission_classes=[IsAdmin])
    @payload_errors(TierPayload)
    async def delete_tier(self, info: Info, code: str) -> TierPayload:
        return TierPayload(tier=Tier.from_model(await tiers.delete_tier(code)))

    @strawberry.mutation(permission_classes=[IsAdmin])
    @payload_errors(PromotionPayload)
    async def create_promotion(self, info: Info, input: PromotionInput) -> PromotionPayload:
        promotion = await promotions.create_promotion(input.to_data())
        return PromotionPayload(promotion=Promotion.from_model(promotion))
