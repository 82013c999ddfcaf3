"""Game types shared by missions, stamp cards and spin prizes: Reward and RewardInput."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from game import grants as game_rewards
from gql.context import Info
from gql.schema.badges import Badge
from gql.types import from_input, from_row
from gql.validation import parse_id

if TYPE_CHECKING:
    from gql.schema.spin import SpinWheel
    from gql.schema.vouchers import VoucherOffer


@strawberry.type
class Reward:
    model: strawberry.Private[game_rewards.Reward]
    points: int | None

    async def _badge(self, info: Info) -> Badge | None:
        if not self.model.badge_code:
            return None
        return from_row(Badge, await info.context.loaders.badge.load(self.model.badge_code))

    badge: Badge | None = strawberry.field(resolver=_badge)

    async def _spin_wheel(
        self, info: Info
    ) -> Annotated[SpinWheel, strawberry.lazy("gql.schema.spin")] | None:
        if self.model.spin_wheel_id is None:
            return None
        from gql.schema.spin import SpinWheel as WheelType

        wheel = await info.context.loaders.spin_wheel.load(self.model.spin_wheel_id)
        return from_row(WheelType, wheel)

    spin_wheel: Annotated[SpinWheel, strawberry.lazy("gql.schema.spin")] | None = strawberry.field(
        resolver=_spin_wheel
    )
    spins: int | None

    @strawberry.field
    async def voucher_offer(
        self, info: Info
    ) -> Annotated[VoucherOffer, strawberry.lazy("gql.schema.vouchers")] | None:
        if self.model.voucher_offer_id is None:
            return None
        from gql.schema.vouchers import VoucherOffer as OfferType

        offer = await info.context.loaders.voucher_offer.load(self.model.voucher_offer_id)
        return from_row(OfferType, offer)


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
        return from_input(
            game_rewards.Reward,
            self,
            spin_wheel_id=parse_id(self.spin_wheel_id, f"{where}.spinWheelId"),
            voucher_offer_id=parse_id(self.voucher_offer_id, f"{where}.voucherOfferId"),
        )
