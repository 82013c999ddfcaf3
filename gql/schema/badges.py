"""Badges: definitions (admin), the list members see, awarding, and the BadgeAwarded event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from core.security import Role
from gql.context import Info
from gql.errors import UserError, payload_errors
from gql.permissions import IsAdmin, IsSignedIn
from gql.subscriptions import member_event
from members import service as members
from rewards.badges import service as badges
from rewards.badges.models import Badge as BadgeModel
from rewards.badges.models import BadgeAward as AwardModel
from rewards.badges.service import Held


@strawberry.type
class Badge:
    code: str
    name: str
    description: str | None
    icon_url: str | None
    secret: bool

    @classmethod
    def of(cls, b: BadgeModel) -> Badge:
        return cls(
            code=b.code,
            name=b.name,
            description=b.description,
            icon_url=b.icon_url,
            secret=b.secret,
        )


@strawberry.type
class BadgeAward:
    badge: Badge
    awarded_at: datetime

    @classmethod
    def of(cls, award: AwardModel | Held) -> BadgeAward:
        return cls(badge=Badge.of(award.badge), awarded_at=award.awarded_at)


@strawberry.type
class BadgeAwarded:
    award: BadgeAward
    at: datetime


@member_event("BadgeAwarded")
async def _badge_awarded(message: dict[str, Any], info: Info) -> BadgeAwarded:
    badge = await badges.get(message["code"])
    at = datetime.fromisoformat(message["awardedAt"])
    return BadgeAwarded(award=BadgeAward(badge=Badge.of(badge), awarded_at=at), at=at)


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
class BadgePayload:
    badge: Badge | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Query:
    @strawberry.field(
        permission_classes=[IsSignedIn],
        description="All badges; a member sees secret ones only once earned.",
    )
    async def badges(self, info: Info) -> list[Badge]:
        viewer = info.context.viewer
        member_id = viewer.member_id if viewer.role is Role.MEMBER else None
        return [Badge.of(b) for b in await badges.listed_for(member_id)]


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[IsAdmin])
    @payload_errors(BadgePayload)
    async def upsert_badge(self, info: Info, input: BadgeInput) -> BadgePayload:
        badge = await badges.upsert(
            badges.BadgeData(
                code=input.code,
                name=input.name,
                description=input.description,
                icon_url=input.icon_url,
                secret=bool(input.secret),
            )
        )
        return BadgePayload(badge=Badge.of(badge))

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Give a member a badge (at most once: awarding it again changes nothing).",
    )
    @payload_errors(BadgePayload)
    async def award_badge(
        self, info: Info, member_external_id: str, badge_code: str
    ) -> BadgePayload:
        member = await members.get_by_external_id(member_external_id, "memberExternalId")
        await badges.award(member.id, badge_code, "admin", field="badgeCode")
        return BadgePayload(badge=Badge.of(await badges.get(badge_code, "badgeCode")))
