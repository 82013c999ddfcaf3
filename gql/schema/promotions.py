"""Promotions (how they stack: rewards/promotions.py): `promotions`, `createPromotion`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from gql.context import Info
from gql.permissions import IsAdmin
from gql.types import Payload, from_input, from_row, mutation
from rewards import promotions


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
    @strawberry.field(permission_classes=[IsAdmin], description="Admin.")
    async def promotions(self, info: Info) -> list[Promotion]:
        return [from_row(Promotion, p) for p in await promotions.list_promotions()]


@strawberry.type
class Mutation:
    @mutation(IsAdmin)
    async def create_promotion(self, info: Info, input: PromotionInput) -> PromotionPayload:
        promotion = await promotions.create_promotion(
            from_input(promotions.PromotionData, input, multiplier=Decimal(str(input.multiplier)))
        )
        return PromotionPayload(promotion=from_row(Promotion, promotion))
