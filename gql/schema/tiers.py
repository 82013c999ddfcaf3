"""Tiers and promotions: `tiers`, `upsertTier`, `deleteTier`, `promotions`, `createPromotion`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from gql.context import Info
from gql.permissions import IsAdmin, IsSignedIn
from gql.types import Payload, from_input, from_row, mutation
from rewards import promotions
from rewards.tiers import service as tiers


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
        multiplier = 1.0 if self.earn_multiplier is None else self.earn_multiplier
        return from_input(
            tiers.TierData,
            self,
            earn_multiplier=Decimal(str(multiplier)),
            voucher_discount_percent=Decimal(str(self.voucher_discount_percent or 0)),
            perks=list(self.perks or []),
        )


@strawberry.type
class TierPayload(Payload):
    tier: Tier | None = None


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


@strawberry.type
class PromotionPayload(Payload):
    promotion: Promotion | None = None


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[IsSignedIn])
    async def tiers(self, info: Info) -> list[Tier]:
        return [from_row(Tier, t) for t in await tiers.list_tiers()]

    @strawberry.field(permission_classes=[IsAdmin], description="Admin.")
    async def promotions(self, info: Info) -> list[Promotion]:
        return [from_row(Promotion, p) for p in await promotions.list_promotions()]


@strawberry.type
class Mutation:
    @mutation(IsAdmin)
    async def upsert_tier(self, info: Info, input: TierInput) -> TierPayload:
        return TierPayload(tier=from_row(Tier, await tiers.upsert_tier(input.to_data())))

    @mutation(IsAdmin)
    async def delete_tier(self, info: Info, code: str) -> TierPayload:
        return TierPayload(tier=from_row(Tier, await tiers.delete_tier(code)))

    @mutation(IsAdmin)
    async def create_promotion(self, info: Info, input: PromotionInput) -> PromotionPayload:
        promotion = await promotions.create_promotion(
            from_input(promotions.PromotionData, input, multiplier=Decimal(str(input.multiplier)))
        )
        return PromotionPayload(promotion=from_row(Promotion, promotion))
