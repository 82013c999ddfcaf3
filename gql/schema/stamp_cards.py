"""Stamp cards: definitions (admin) and each member's current card."""

from __future__ import annotations

import strawberry

from game import grants as game_rewards
from game import stamp_cards
from game.models import StampCard as CardModel
from gql.context import Info
from gql.errors import UserError, payload_errors
from gql.permissions import IsAdmin, IsMember
from gql.schema.game import Reward, RewardInput, reward_type


@strawberry.type
class StampCard:
    model: strawberry.Private[CardModel]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field
    def name(self) -> str:
        return self.model.name

    @strawberry.field
    def action_type(self) -> str:
        return self.model.action_type

    @strawberry.field
    def slots(self) -> int:
        return self.model.slots

    @strawberry.field(description="Stamps already on a new card (the endowed head start).")
    def prestamped(self) -> int:
        return self.model.prestamped

    @strawberry.field(description="At most one stamp per local day.")
    def one_per_day(self) -> bool:
        return self.model.one_per_day

    @strawberry.field
    def reward(self) -> Reward:
        return reward_type(game_rewards.Reward.of(self.model))


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
class StampCardPayload:
    stamp_card: StampCard | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[IsAdmin])
    async def stamp_cards(self, info: Info) -> list[StampCard]:
        return [StampCard(model=c) for c in await stamp_cards.all_cards()]

    @strawberry.field(permission_classes=[IsMember])
    async def my_stamp_cards(self, info: Info) -> list[StampCardProgress]:
        assert info.context.viewer.member_id is not None
        return [
            StampCardProgress(
                card=StampCard(model=v.card),
                stamps=v.stamps,
                slots=v.slots,
                completed_count=v.completed_count,
            )
            for v in await stamp_cards.my_cards(info.context.viewer.member_id)
        ]


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[IsAdmin])
    @payload_errors(StampCardPayload)
    async def create_stamp_card(self, info: Info, input: StampCardInput) -> StampCardPayload:
        card = await stamp_cards.create(
            stamp_cards.StampCardData(
                name=input.name,
                action_type=input.action_type,
                slots=input.slots,
                prestamped=input.prestamped or 0,
                one_per_day=bool(input.one_per_day),
                reward=input.reward.to_domain(),
            )
        )
        return StampCardPayload(stamp_card=StampCard(model=card))
