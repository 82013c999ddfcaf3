"""Badges: definitions (admin), the list members see, awarding, and the BadgeAwarded event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from core.security import Role
from gql.context import Info
from gql.permissions import IsAdmin, IsSignedIn
from gql.subscriptions import member_event
from gql.types import Payload, from_input, from_row, mutation
from members import service as members
from rewards.badges import service as badges


@strawberry.type
class Badge:
    code: str
    name: str
    description: str | None
    icon_url: str | None
    secret: bool


@strawberry.type
class BadgeAward:
    badge: Badge
    awarded_at: datetime


@strawberry.type
class BadgeAwarded:
    award: BadgeAward
    at: datetime


@member_event("BadgeAwarded")
async def _badge_awarded(message: dict[str, Any], info: Info) -> BadgeAwarded:
    badge = await badges.get(message["code"])
    at = datetime.fromisoformat(message["awardedAt"])
    return BadgeAwarded(award=BadgeAward(badge=from_row(Badge, badge), awarded_at=at), at=at)


@strawberry.input
class BadgeInput:
    code: str
    name: str
    description: str | None = None
    icon_url: str | None = None
    secret: bool | None = strawberry.field(
        default=False, description="Hidden from members until earned."
    )


@strawberry.type
class BadgePayload(Payload):
    badge: Badge | None = None


@strawberry.type
class Query:
    @strawberry.field(
        permission_classes=[IsSignedIn],
        description="All badges; a member sees secret ones only once earned.",
    )
    async def badges(self, info: Info) -> list[Badge]:
        viewer = info.context.viewer
        member_id = viewer.member_id if viewer.role is Role.MEMBER else None
        return [from_row(Badge, b) for b in await badges.listed_for(member_id)]


@strawberry.type
class Mutation:
    @mutation(IsAdmin)
    async def upsert_badge(self, info: Info, input: BadgeInput) -> BadgePayload:
        badge = await badges.upsert(from_input(badges.BadgeData, input))
        return BadgePayload(badge=from_row(Badge, badge))

    @mutation(
        IsAdmin,
        description="Give a member a badge (at most once: awarding it again changes nothing).",
    )
    async def award_badge(
        self, info: Info, member_external_id: str, badge_code: str
    ) -> BadgePayload:
        member = await members.get_by_external_id(member_external_id)
        await badges.award(member.id, badge_code, "admin", field="badge_code")
        return BadgePayload(badge=from_row(Badge, await badges.get(badge_code, "badge_code")))
