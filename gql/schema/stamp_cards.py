"""Stamp cards: definitions (admin) and each member's current card."""

from __future__ import annotations

import strawberry

from game import grants as game_rewards
from game import stamp_cards
from game.models import StampCard as CardModel
from gql.context import Info
from gql.permissions import IsAdmin, IsMember
from gql.schema.game import Reward, RewardInput
from gql.types import Payload, from_input, from_row, mutation


@strawberry.type
class StampCard:
    model: strawberry.Private[CardModel]
    id: strawberry.ID
    name: str
    action_type: str
    slots: int
    prestamped: int = strawberry.field(
        description="Stamps already on a new card (the endowed head start)."
    )
    one_per_day: bool = strawberry.field(description="At most one stamp per local day.")

    @strawberry.field
    def reward(self) -> Reward:
        return from_row(Reward, game_rewards.Reward.of(self.model))


@strawberry.type
class StampCardProgress:
    card: StampCard
    stamps: int
    slots: int
    completed_count: int


@strawberry.input
class StampCardInput:
    name: str
    action_type: str
    slots: int
    reward: RewardInput
    prestamped: int | None = strawberry.field(
        default=0, description="Stamps already on a new card (the endowed head start)."
    )
    one_per_day: bool | None = strawberry.field(
        default=False, description="At most one stamp per local day."
    )


@strawberry.type
class StampCardPayload(Payload):
    stamp_card: StampCard | None = None


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[IsAdmin])
    async def stamp_cards(self, info: Info) -> list[StampCard]:
        return [from_row(StampCard, c) for c in await stamp_cards.all_cards()]

    @strawberry.field(permission_classes=[IsMember])
    async def my_stamp_cards(self, info: Info) -> list[StampCardProgress]:
        found = await stamp_cards.my_cards(info.context.member_id)
        return [from_row(StampCardProgress, v) for v in found]


@strawberry.type
class Mutation:
    @mutation(IsAdmin)
    async def create_stamp_card(self, info: Info, input: StampCardInput) -> StampCardPayload:
        card = await stamp_cards.create(
            from_input(stamp_cards.StampCardData, input, reward=input.reward.to_domain())
        )
        return StampCardPayload(stamp_card=from_row(StampCard, card))
