"""Game types shared by missions, stamp cards and spin prizes: Reward and RewardInput."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from game import grants as game_rewards
from gql.context import Info
from gql.schema.badges import Badge
from gql.validation import parse_id

if TYPE_CHECKING:
    from gql.schema.spin import SpinWheel
    from gql.schema.vouchers import VoucherOffer


def optional_id(value: strawberry.ID | str | None, where: str) -> int | None:
    """An optional ID argument as an int (gql.validation.parse_id)."""
    return None if value is None else parse_id(value, where)


@strawberry.type
class Reward:
    value: strawberry.Private[game_rewards.Reward]

    @strawberry.field
    def points(self) -> int | None:
        return self.value.points

    @strawberry.field
    async def badge(self, info: Info) -> Badge | None:
        if not self.value.badge_code:
            return None
        found = await info.context.loaders.badge.load(self.value.badge_code)
        return Badge.of(found) if found else None

    @strawberry.field
    async def spin_wheel(
        self, info: Info
    ) -> Annotated[SpinWheel, strawberry.lazy("gql.schema.spin")] | None:
        if self.value.spin_wheel_id is None:
            return None
        from gql.schema.spin import wheel_type

        wheel = await info.context.loaders.spin_wheel.load(self.value.spin_wheel_id)
        return wheel_type(wheel) if wheel else None

    @strawberry.field
    def spins(self) -> int | None:
        return self.value.spins

    @strawberry.field
    async def voucher_offer(
        self, info: Info
    ) -> Annotated[VoucherOffer, strawberry.lazy("gql.schema.vouchers")] | None:
        if self.value.voucher_offer_id is None:
            return None
        from gql.schema.vouchers import VoucherOffer as OfferType

        offer = await info.context.loaders.voucher_offer.load(self.value.voucher_offer_id)
        return OfferType(model=offer) if offer else None


def reward_type(value: game_rewards.Reward) -> Reward:
    return Reward(value=value)


@strawberry.input
class RewardInput:
    points: int | None = None
    badge_code: str | None = None
    spin_wheel_id: strawberry.ID | None = strawberry.field(
        default=None, description="Free spins granted on this wheel."
    )
    spins: int | None = None
    voucher_offer_id: strawberry.ID | None = None

    def to_domain(self, where: str = "input.reward") -> game_rewards.Reward:
        return game_rewards.Reward(
            points=self.points,
            badge_code=self.badge_code,
            spin_wheel_id=optional_id(self.spin_wheel_id, f"{where}.spinWheelId"),
            spins=self.spins,
            voucher_offer_id=optional_id(self.voucher_offer_id, f"{where}.voucherOfferId"),
        )
