"""Missions: definitions (admin), members' progress, claiming, and MissionProgressed events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from game import grants as game_rewards
from game.missions import definitions, progress
from game.missions.definitions import Measure, Status
from game.missions.progress import ProgressView
from game.missions.windows import Window
from game.models import Mission as MissionModel
from gql.context import Info
from gql.errors import UserError, payload_errors
from gql.permissions import IsAdmin, IsMember
from gql.schema.game import Reward, RewardInput, optional_id, reward_type
from gql.subscriptions import member_event
from gql.validation import parse_id
from members import service as members
from members.program import get_program

strawberry.enum(Measure, name="MissionMeasure")
strawberry.enum(Window, name="MissionWindow")
strawberry.enum(Status, name="MissionStatus")


@strawberry.type
class Mission:
    model: strawberry.Private[MissionModel]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field
    def title(self) -> str:
        return self.model.title

    @strawberry.field
    def description(self) -> str | None:
        return self.model.description

    @strawberry.field
    def action_type(self) -> str:
        return self.model.action_type

    @strawberry.field
    def measure(self) -> Measure:
        return Measure(self.model.measure)

    @strawberry.field
    def target(self) -> float:
        return float(self.model.target)

    @strawberry.field
    def filter(self) -> JSON | None:
        return self.model.attribute_filter  # type: ignore[return-value]

    @strawberry.field
    def window(self) -> Window:
        return Window(self.model.window)

    @strawberry.field
    def starts_at(self) -> datetime | None:
        return self.model.starts_at

    @strawberry.field
    def ends_at(self) -> datetime | None:
        return self.model.ends_at

    @strawberry.field
    def reward(self) -> Reward:
        return reward_type(game_rewards.Reward.of(self.model))

    @strawberry.field
    def auto_claim(self) -> bool:
        return self.model.auto_claim

    @strawberry.field
    def max_completions(self) -> int | None:
        return self.model.max_completions

    @strawberry.field
    def tier_codes(self) -> list[str] | None:
        return self.model.tier_codes

    @strawberry.field
    def segment_id(self) -> strawberry.ID | None:
        sid = self.model.segment_id
        return strawberry.ID(str(sid)) if sid is not None else None

    @strawberry.field
    def status(self) -> Status:
        return Status(self.model.status)

    @strawberry.field(description="Times members completed it, all windows together.")
    async def completions(self, info: Info) -> int:
        return await info.context.loaders.mission_completions.load(self.model.id) or 0


@strawberry.type
class MissionProgress:
    mission: Mission
    progress: float
    target: float
    period_key: str | None = strawberry.field(
        description="Key of the current window, e.g. '2026-11-23' or '2026-W48'; null for ONCE."
    )
    completed: bool
    completed_at: datetime | None
    claimed: bool
    times_completed: int

    @classmethod
    def of(cls, v: ProgressView) -> MissionProgress:
        return cls(
            mission=Mission(model=v.mission),
            progress=v.progress,
            target=v.target,
            period_key=v.period_key,
            completed=v.completed,
            completed_at=v.completed_at,
            claimed=v.claimed,
            times_completed=v.times_completed,
        )


@strawberry.type
class MissionProgressed:
    progress: MissionProgress
    at: datetime


@member_event("MissionProgressed")
async def _mission_progressed(message: dict[str, Any], info: Info) -> MissionProgressed:
    mission = await definitions.get(int(message["missionId"]))
    view = progress.ProgressView.from_snapshot(mission, message["progress"])
    return MissionProgressed(
        progress=MissionProgress.of(view), at=datetime.fromisoformat(message["at"])
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
        return definitions.MissionData(
            title=self.title,
            description=self.description,
            action_type=self.action_type,
            measure=self.measure or Measure.COUNT,
            target=self.target,
            filter=self.filter,  # type: ignore[arg-type]
            window=self.window or Window.ONCE,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            reward=self.reward.to_domain(),
            auto_claim=True if self.auto_claim is None else self.auto_claim,
            max_completions=self.max_completions,
            tier_codes=self.tier_codes,
            segment_id=optional_id(self.segment_id, "input.segmentId"),
            status=self.status or Status.ACTIVE,
        )


@strawberry.type
class MissionPayload:
    mission: Mission | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ClaimRewardPayload:
    progress: MissionProgress | None = None
    points_awarded: int = 0
    errors: list[UserError] = strawberry.field(default_factory=list)


def _mission_id(value: strawberry.ID, where: str) -> int:
    return parse_id(value, where)


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[IsAdmin])
    async def missions(self, info: Info, status: Status | None = None) -> list[Mission]:
        return [Mission(model=m) for m in await definitions.list_missions(status)]

    @strawberry.field(
        permission_classes=[IsMember],
        description="Member: missions the member can take part in now, with progress.",
    )
    async def my_missions(
        self, info: Info, include_completed: bool | None = True
    ) -> list[MissionProgress]:
        member_id = info.context.viewer.member_id
        assert member_id is not None
        found = await info.context.me()
        tier = found[1].tier.tier if found else None
        tier_code = tier.code if tier else None
        zone = (await get_program()).timezone
        views = await progress.my_missions(
            member_id, tier_code, zone, include_completed is not False
        )
        return [MissionProgress.of(v) for v in views]


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[IsAdmin])
    @payload_errors(MissionPayload)
    async def create_mission(self, info: Info, input: MissionInput) -> MissionPayload:
        return MissionPayload(mission=Mission(model=await definitions.create(input.to_domain())))

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Replace a mission's definition; progress already made is kept as it is.",
    )
    @payload_errors(MissionPayload)
    async def update_mission(
        self, info: Info, id: strawberry.ID, input: MissionInput
    ) -> MissionPayload:
        mission_id = _mission_id(id, "id")
        return MissionPayload(
            mission=Mission(model=await definitions.update(mission_id, input.to_domain()))
        )

    @strawberry.mutation(permission_classes=[IsAdmin])
    @payload_errors(MissionPayload)
    async def set_mission_status(
        self, info: Info, id: strawberry.ID, status: Status
    ) -> MissionPayload:
        mission = await definitions.set_status(_mission_id(id, "id"), status)
        return MissionPayload(mission=Mission(model=mission))

    @strawberry.mutation(permission_classes=[IsMember])
    @payload_errors(ClaimRewardPayload)
    async def claim_mission_reward(
        self, info: Info, mission_id: strawberry.ID
    ) -> ClaimRewardPayload:
        assert info.context.viewer.member_id is not None
        member = await members.get_member(info.context.viewer.member_id)
        zone = (await get_program()).timezone
        claimed = await progress.claim(member, _mission_id(mission_id, "missionId"), zone)
        return ClaimRewardPayload(
            progress=MissionProgress.of(claimed.view), points_awarded=claimed.points
        )
