"""Missions: definitions (admin), members' progress, claiming, and MissionProgressed events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from game import grants as game_rewards
from game.missions import definitions, progress
from game.missions.definitions import Measure, Status
from game.missions.windows import Window
from game.models import Mission as MissionModel
from gql.context import Info
from gql.permissions import IsAdmin, IsMember
from gql.schema.game import Reward, RewardInput
from gql.subscriptions import member_event
from gql.types import Payload, from_input, from_row, mutation, row_field
from gql.validation import parse_id
from members import service as members
from members.program import get_program

strawberry.enum(Measure, name="MissionMeasure")
strawberry.enum(Window, name="MissionWindow")
strawberry.enum(Status, name="MissionStatus")


@strawberry.type
class Mission:
    model: strawberry.Private[MissionModel]
    id: strawberry.ID
    title: str
    description: str | None
    action_type: str
    measure: Measure
    target: float
    filter: JSON | None = row_field("attribute_filter")
    window: Window
    starts_at: datetime | None
    ends_at: datetime | None

    def _reward(self) -> Reward:
        return from_row(Reward, game_rewards.Reward.of(self.model))

    reward: Reward = strawberry.field(resolver=_reward)
    auto_claim: bool
    max_completions: int | None
    tier_codes: list[str] | None
    segment_id: strawberry.ID | None
    status: Status

    @strawberry.field(description="Times members completed it, all windows together.")
    async def completions(self, info: Info) -> int:
        return await info.context.loaders.mission_completions.load(self.model.id) or 0


@strawberry.type
class MissionProgress:
    model: strawberry.Private[progress.ProgressView]

    def _mission(self) -> Mission:
        # Built when asked for: the home screen lists every mission's progress only.
        return from_row(Mission, self.model.mission)

    mission: Mission = strawberry.field(resolver=_mission)
    progress: float
    target: float
    period_key: str | None = strawberry.field(
        description="Key of the current window, e.g. '2026-11-23' or '2026-W48'; null for ONCE."
    )
    completed: bool
    completed_at: datetime | None
    claimed: bool
    times_completed: int


@strawberry.type
class MissionProgressed:
    progress: MissionProgress
    at: datetime


@member_event("MissionProgressed")
async def _mission_progressed(message: dict[str, Any], info: Info) -> MissionProgressed:
    mission = await definitions.get(int(message["missionId"]))
    view = progress.ProgressView.from_snapshot(mission, message["progress"])
    return MissionProgressed(
        progress=from_row(MissionProgress, view), at=datetime.fromisoformat(message["at"])
    )


@strawberry.input
class MissionInput:
    title: str
    action_type: str
    target: float
    reward: RewardInput
    description: str | None = None
    measure: Measure | None = Measure.COUNT
    filter: JSON | None = strawberry.field(
        default=None,
        description='Attribute values an action must carry to count, e.g. {"channel": "app"}.',
    )
    window: Window | None = Window.ONCE
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    auto_claim: bool | None = strawberry.field(
        default=True, description="False: the member claims the reward with claimMissionReward."
    )
    max_completions: int | None = strawberry.field(
        default=1,
        description="How many times a member may complete it (per window for windowed ones); "
        "null = unlimited.",
    )
    tier_codes: list[str] | None = None
    segment_id: strawberry.ID | None = None
    status: Status | None = Status.ACTIVE

    def to_domain(self) -> definitions.MissionData:
        return from_input(
            definitions.MissionData,
            self,
            reward=self.reward.to_domain(),
            segment_id=parse_id(self.segment_id, "input.segmentId"),
        )


@strawberry.type
class MissionPayload(Payload):
    mission: Mission | None = None


@strawberry.type
class ClaimRewardPayload(Payload):
    progress: MissionProgress | None = None
    points_awarded: int = 0


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[IsAdmin])
    async def missions(self, info: Info, status: Status | None = None) -> list[Mission]:
        return [from_row(Mission, m) for m in await definitions.list_missions(status)]

    @strawberry.field(
        permission_classes=[IsMember],
        description="Member: missions the member can take part in now, with progress.",
    )
    async def my_missions(
        self, info: Info, include_completed: bool | None = True
    ) -> list[MissionProgress]:
        member_id = info.context.member_id
        found = await info.context.me()
        tier = found[1].tier.tier if found else None
        tier_code = tier.code if tier else None
        zone = (await get_program()).timezone
        views = await progress.my_missions(
            member_id, tier_code, zone, include_completed is not False
        )
        return [from_row(MissionProgress, v) for v in views]


@strawberry.type
class Mutation:
    @mutation(IsAdmin)
    async def create_mission(self, info: Info, input: MissionInput) -> MissionPayload:
        return MissionPayload(
            mission=from_row(Mission, await definitions.create(input.to_domain()))
        )

    @mutation(
        IsAdmin,
        description="Replace a mission's definition; progress already made is kept as it is.",
    )
    async def update_mission(
        self, info: Info, id: strawberry.ID, input: MissionInput
    ) -> MissionPayload:
        mission_id = parse_id(id, "id")
        return MissionPayload(
            mission=from_row(Mission, await definitions.update(mission_id, input.to_domain()))
        )

    @mutation(IsAdmin)
    async def set_mission_status(
        self, info: Info, id: strawberry.ID, status: Status
    ) -> MissionPayload:
        mission = await definitions.set_status(parse_id(id, "id"), status)
        return MissionPayload(mission=from_row(Mission, mission))

    @mutation(IsMember)
    async def claim_mission_reward(
        self, info: Info, mission_id: strawberry.ID
    ) -> ClaimRewardPayload:
        member = await members.get_member(info.context.member_id)
        zone = (await get_program()).timezone
        claimed = await progress.claim(member, parse_id(mission_id, "missionId"), zone)
        return ClaimRewardPayload(
            progress=from_row(MissionProgress, claimed.view), points_awarded=claimed.points
        )
