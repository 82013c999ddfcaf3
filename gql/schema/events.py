"""Live member events: the MemberEvent union and the `memberEvents` subscription."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated, Any

import strawberry

from core import pubsub
from gql.context import Info
from gql.permissions import IsMember
from gql.schema.badges import BadgeAwarded
from gql.schema.engage import NotificationReceived
from gql.schema.ledger_types import LedgerReason  # noqa: F401 - registers the enum
from gql.schema.missions import MissionProgressed
from gql.schema.tiers import Tier
from gql.subscriptions import build, member_event
from gql.types import from_row
from rewards.ledger.reasons import Reason
from rewards.tiers import service as tiers


@strawberry.type
class PointsChanged:
    balance: int
    delta: int
    reason: Reason
    at: datetime


@member_event("PointsChanged")
async def _points_changed(message: dict[str, Any], info: Info) -> PointsChanged:
    return PointsChanged(
        balance=message["balance"],
        delta=message["delta"],
        reason=Reason(message["reason"]),
        at=datetime.fromisoformat(message["at"]),
    )


@strawberry.type
class TierChanged:
    from_: Tier | None = strawberry.field(name="from")
    to: Tier | None
    at: datetime


@member_event("TierChanged")
async def _tier_changed(message: dict[str, Any], info: Info) -> TierChanged:
    found = await tiers.tiers_by_code([message.get("from") or "", message.get("to") or ""])
    return TierChanged(
        from_=from_row(Tier, found.get(message.get("from") or "")),
        to=from_row(Tier, found.get(message.get("to") or "")),
        at=datetime.fromisoformat(message["at"]),
    )


# Each area adds its event types here with `|`.
MemberEvent = Annotated[
    PointsChanged | TierChanged | MissionProgressed | BadgeAwarded | NotificationReceived,
    strawberry.union("MemberEvent"),
]


@strawberry.type
class Subscription:
    @strawberry.subscription(
        permission_classes=[IsMember],
        description="Member: everything that changes the member's progress, as it happens.",
    )
    async def member_events(self, info: Info) -> AsyncGenerator[MemberEvent, None]:
        member_id = info.context.viewer.member_id
        async for message in pubsub.subscribe(f"member:{member_id}"):
            event = await build(message, info)
            if event is not None:
                yield event
