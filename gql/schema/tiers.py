"""Tiers: `tiers`, `upsertTier`, `deleteTier`."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from gql.context import Info
from gql.permissions import IsAdmin, IsSignedIn
from gql.types import Payload, from_input, from_row, mutation
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
class Query:
    @strawberry.field(permission_classes=[IsSignedIn])
    async def tiers(self, info: Info) -> list[Tier]:
        return [from_row(Tier, t) for t in await tiers.list_tiers()]


@strawberry.type
class Mutation:
    @mutation(IsAdmin)
    async def upsert_tier(self, info: Info, input: TierInput) -> TierPayload:
        return TierPayload(tier=from_row(Tier, await tiers.upsert_tier(input.to_data())))

    @mutation(IsAdmin)
    async def delete_tier(self, info: Info, code: str) -> TierPayload:
        return TierPayload(tier=from_row(Tier, await tiers.delete_tier(code)))
