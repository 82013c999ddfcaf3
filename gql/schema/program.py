"""Program settings: `program` and `updateProgram`."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum

import strawberry

from gql.context import Info
from gql.permissions import IsAdmin, IsSignedIn
from gql.scalars import BigInt
from gql.types import Payload, from_row, mutation
from members import program as program_service
from members.models import Program as ProgramModel
from rewards.ledger import budget


@strawberry.enum
class TierWindow(Enum):
    LIFETIME = "LIFETIME"
    ROLLING_YEAR = "ROLLING_YEAR"


@strawberry.type
class TimeWindow:
    start: str = strawberry.field(
        description="HH:MM in the program's zone; a window may span midnight."
    )
    end: str


@strawberry.input
class TimeWindowInput:
    start: str
    end: str


@strawberry.type
class Program:
    name: str
    currency: str
    timezone: str
    point_value: Decimal
    earn_rate_percent: Decimal
    referral_rate_percent: Decimal
    referral_window_days: int
    referral_max_per_member: int | None
    referral_welcome_points: int
    tier_point_unit: Decimal
    tier_window: TierWindow
    tier_grace_days: int
    welcome_points: int
    birthday_points: int
    points_pending_days: int
    points_expiry_days: int | None
    quiet_hours_start: str | None
    quiet_hours_end: str | None
    max_notifications_per_week: int | None
    model: strawberry.Private[ProgramModel]

    @strawberry.field(
        description="Every window in which no message is sent (quietHoursStart/End is the first)."
    )
    def quiet_windows(self) -> list[TimeWindow]:
        return [TimeWindow(start=w["start"], end=w["end"]) for w in self.model.quiet_windows]

    @strawberry.field(description="Points the program may still issue.")
    async def issuance_budget_remaining(self) -> BigInt:
        return BigInt(await budget.remaining())


@strawberry.input
class ProgramInput:
    name: str | None = None
    currency: str | None = None
    timezone: str | None = None
    point_value: Decimal | None = None
    earn_rate_percent: Decimal | None = None
    referral_rate_percent: Decimal | None = None
    referral_window_days: int | None = None
    referral_max_per_member: int | None = strawberry.UNSET
    referral_welcome_points: int | None = None
    tier_point_unit: Decimal | None = None
    tier_window: TierWindow | None = None
    tier_grace_days: int | None = None
    welcome_points: int | None = None
    birthday_points: int | None = None
    points_pending_days: int | None = None
    points_expiry_days: int | None = strawberry.UNSET
    issuance_budget_top_up: BigInt | None = strawberry.field(
        default=None,
        description="Points added to (positive) or withdrawn from (negative) the issuance budget.",
    )
    quiet_hours_start: str | None = strawberry.UNSET
    quiet_hours_end: str | None = strawberry.UNSET
    max_notifications_per_week: int | None = strawberry.UNSET
    quiet_windows: list[TimeWindowInput] | None = strawberry.field(
        default=None,
        description=(
            "Replaces every quiet window ([] for none); the first is quietHoursStart/End."
        ),
    )

    def to_changes(self) -> program_service.ProgramChanges:
        """Explicit null clears a nullable setting; an omitted field leaves it alone."""
        values = {
            name: getattr(self, name)
            for name in program_service.ProgramChanges.__dataclass_fields__
            if name not in ("clear", "quiet_windows") and hasattr(self, name)
        }
        clear = tuple(n for n in program_service.NULLABLE if values.get(n, 0) is None)
        values = {k: (None if v is strawberry.UNSET else v) for k, v in values.items()}
        if isinstance(values.get("tier_window"), Enum):
            values["tier_window"] = values["tier_window"].value
        windows = (
            [(w.start, w.end) for w in self.quiet_windows]
            if self.quiet_windows is not None
            else None
        )
        return program_service.ProgramChanges(**values, quiet_windows=windows, clear=clear)


@strawberry.type
class ProgramPayload(Payload):
    program: Program | None = None


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[IsSignedIn])
    async def program(self, info: Info) -> Program:
        return from_row(Program, await program_service.get_program())


@strawberry.type
class Mutation:
    @mutation(IsAdmin)
    async def update_program(self, info: Info, input: ProgramInput) -> ProgramPayload:
        program = await budget.update_program_and_budget(
            input.to_changes(), input.issuance_budget_top_up
        )
        return ProgramPayload(program=from_row(Program, program))
