"""Action types (admin) and trackAction (integration, or a member for clientReportable types)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from core.errors import DomainError
from game import action_types, actions, batch
from game.missions.progress import Moved, ProgressView
from gql.context import Info
from gql.errors import api_path, user_error
from gql.permissions import IsAdmin, IsSignedIn
from gql.schema.badges import BadgeAward
from gql.schema.missions import MissionProgress
from gql.types import Payload, from_input, from_row, mutation


@strawberry.type
class ActionType:
    key: str
    name: str
    points: int
    daily_cap: int | None
    client_reportable: bool


@strawberry.input
class ActionTypeInput:
    key: str = strawberry.field(
        description="e.g. 'review.posted', 'social.shared', 'event.attended', 'app.opened'."
    )
    name: str
    points: int | None = strawberry.field(
        default=0,
        description="Points credited per occurrence (before promotions and tier multiplier).",
    )
    daily_cap: int | None = strawberry.field(
        default=None,
        description="Most points-earning occurrences per member per local day; null = no cap.",
    )
    client_reportable: bool | None = strawberry.field(
        default=False,
        description="True when a member token may report it; "
        "otherwise only an integration key may.",
    )


@strawberry.type
class ActionTypePayload(Payload):
    action_type: ActionType | None = None


@strawberry.input
class TrackActionInput:
    type: str
    idempotency_key: str
    member_external_id: str | None = strawberry.field(
        default=None,
        description="Required with an integration key; "
        "must be omitted or match with a member token.",
    )
    value: float | None = strawberry.field(
        default=1, description="Counted by SUM missions; 1 by default."
    )
    attributes: JSON | None = None
    occurred_at: datetime | None = None

    def reported(self) -> actions.Reported:
        """The action as the domain takes it: `type` is its action type, a null value 1."""
        return from_input(actions.Reported, self, action_type=self.type)


@strawberry.type
class TrackActionPayload(Payload):
    points_awarded: int = strawberry.field(
        default=0,
        description="Points the action itself earned (0 past the daily cap); rewards of the "
        "missions and stamp cards it completed come on top.",
    )
    # Built only when selected: a batch of 100 actions on 50 missions is 5,000 of them.
    moved: strawberry.Private[list[Moved]] = dataclasses.field(default_factory=list)

    def _missions(self) -> list[MissionProgress]:
        return [from_row(MissionProgress, ProgressView.from_packed(*m)) for m in self.moved]

    missions: list[MissionProgress] = strawberry.field(resolver=_missions)
    badges_awarded: list[BadgeAward] = strawberry.field(default_factory=list)
    duplicate: bool = False


@strawberry.type
class TrackActionsPayload(Payload):
    results: list[TrackActionPayload] = strawberry.field(
        default_factory=list,
        description="One per input, in order; a refused input has its own errors "
        "(fields named ['inputs', index, ...]) and wrote nothing.",
    )


def _track_payload(result: actions.TrackResult) -> TrackActionPayload:
    return TrackActionPayload(
        points_awarded=result.points_awarded,
        moved=result.moved,
        badges_awarded=[from_row(BadgeAward, b) for b in result.badges],
        duplicate=result.duplicate,
    )


def _item_payload(index: int, outcome: batch.Outcome) -> TrackActionPayload:
    if not isinstance(outcome, DomainError):
        return _track_payload(outcome)
    error = user_error(outcome, api_path(outcome.field, "trackAction", {"input"}))
    if error.field and error.field[0] == "input":
        error.field = ["inputs", str(index), *error.field[1:]]
    refused = TrackActionPayload()
    refused.errors = [error]
    return refused


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[IsAdmin])
    async def action_types(self, info: Info) -> list[ActionType]:
        return [from_row(ActionType, t) for t in await action_types.all_types()]


@strawberry.type
class Mutation:
    @mutation(IsAdmin)
    async def upsert_action_type(self, info: Info, input: ActionTypeInput) -> ActionTypePayload:
        row = await action_types.upsert(from_input(action_types.ActionTypeData, input))
        return ActionTypePayload(action_type=from_row(ActionType, row))

    @mutation(IsSignedIn)
    async def track_action(self, info: Info, input: TrackActionInput) -> TrackActionPayload:
        result = await actions.report(
            input.reported(), caller_member_id=info.context.viewer.member_id
        )
        return _track_payload(result)

    @mutation(
        IsSignedIn,
        description="Up to 100 trackActions in one request, each with its own result "
        "(idempotent per idempotencyKey, like trackAction).",
    )
    async def track_actions(
        self, info: Info, inputs: list[TrackActionInput]
    ) -> TrackActionsPayload:
        outcomes = await batch.report_many(
            [i.reported() for i in inputs], caller_member_id=info.context.viewer.member_id
        )
        return TrackActionsPayload(results=[_item_payload(n, o) for n, o in enumerate(outcomes)])
