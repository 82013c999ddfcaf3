"""Members: enrolment, tokens, `me`, lookups and the member list."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import Enum

import strawberry

from core import ids
from core.errors import InvalidInput, NotFound, Unauthenticated
from core.security import Role, issue_member_token
from gql.context import Info
from gql.permissions import IsAdmin, IsMember, IsStaff, ValidCredential
from gql.schema.badges import BadgeAward
from gql.schema.care_member import MemberCareFields
from gql.schema.rfm_types import Rfm
from gql.schema.tiers import Tier
from gql.types import PageInfo, Payload, from_input, from_row, mutation
from gql.validation import parse_id
from members import segments, service
from rewards import enrolment
from rewards.tiers import service as tiers


@strawberry.enum
class Gender(Enum):
    FEMALE = "FEMALE"
    MALE = "MALE"
    OTHER = "OTHER"
    UNDISCLOSED = "UNDISCLOSED"


strawberry.enum(Role, name="Role")


@strawberry.type(description="What other members may see of a member.")
class PublicMember:
    id: strawberry.ID
    display_name: str
    tier_code: str | None = None


@strawberry.type
class ReferralStats:
    count: int
    qualified_count: int
    points_earned: int


@strawberry.type
class Member(MemberCareFields):
    id: strawberry.ID
    external_id: str
    display_name: str
    phone: str | None
    email: str | None
    birthday: date | None
    gender: Gender | None
    enrolled_at: datetime
    referral_code: str

    @strawberry.field(
        description="Spendable points (may be negative after a refund clawed back spent points)."
    )
    async def points_balance(self, info: Info) -> int:
        found = await info.context.loaders.standing.load(self.model.id)
        return found.available if found else 0

    @strawberry.field(description="Points earned but not yet spendable (return window).")
    async def pending_points(self, info: Info) -> int:
        found = await info.context.loaders.standing.load(self.model.id)
        return found.pending if found else 0

    @strawberry.field(description="Points that will expire within the next 30 days.")
    async def points_expiring_soon(self, info: Info) -> int:
        return await info.context.loaders.expiring_soon.load(self.model.id) or 0

    @strawberry.field
    async def lifetime_points(self, info: Info) -> int:
        found = await info.context.loaders.standing.load(self.model.id)
        return found.lifetime if found else 0

    @strawberry.field(
        description="Tier points counted for qualification under the program's tier window."
    )
    async def tier_points(self, info: Info) -> int:
        status = await info.context.loaders.tier_status.load(self.model.id)
        return status.tier_points if status else 0

    @strawberry.field
    async def tier(self, info: Info) -> Tier | None:
        status = await info.context.loaders.tier_status.load(self.model.id)
        return from_row(Tier, status.tier) if status else None

    @strawberry.field
    async def next_tier(self, info: Info) -> Tier | None:
        status = await info.context.loaders.tier_status.load(self.model.id)
        return from_row(Tier, status.next_tier) if status else None

    @strawberry.field(description="Tier points still needed to reach nextTier; 0 when at the top.")
    async def tier_points_to_next(self, info: Info) -> int:
        status = await info.context.loaders.tier_status.load(self.model.id)
        return status.tier_points_to_next if status else 0

    @strawberry.field(
        description="Set while the member is below their tier's threshold but kept in it."
    )
    async def tier_grace_until(self, info: Info) -> datetime | None:
        status = await info.context.loaders.tier_status.load(self.model.id)
        return status.grace_until if status else None

    @strawberry.field
    async def referred_by(self, info: Info) -> PublicMember | None:
        if self.model.referred_by_id is None:
            return None
        referrer = await info.context.loaders.member.load(self.model.referred_by_id)
        if referrer is None:
            return None
        status = await info.context.loaders.tier_status.load(referrer.id)
        return PublicMember(
            id=strawberry.ID(str(referrer.id)),
            display_name=referrer.display_name,
            tier_code=status.tier.code if status and status.tier else None,
        )

    @strawberry.field
    async def referrals(self, info: Info) -> ReferralStats:
        stats = await info.context.loaders.referral_stats.load(self.model.id)
        if stats is None:
            return ReferralStats(count=0, qualified_count=0, points_earned=0)
        return ReferralStats(
            count=stats.count,
            qualified_count=stats.qualified_count,
            points_earned=stats.points_earned,
        )

    # tags and leaderboardHidden resolve, to keep their place after the fields above.
    @strawberry.field
    def tags(self) -> list[str]:
        return list(self.model.tags or [])

    @strawberry.field(description="When true the member shows as anonymous on leaderboards.")
    def leaderboard_hidden(self) -> bool:
        return self.model.leaderboard_hidden

    @strawberry.field
    async def rfm(self, info: Info) -> Rfm | None:
        row = await info.context.loaders.rfm.load(self.model.id)
        return from_row(Rfm, row)

    @strawberry.field(description="Badges the member holds, oldest first.")
    async def badges(self, info: Info) -> list[BadgeAward]:
        awards = await info.context.loaders.badge_awards.load(self.model.id)
        return [from_row(BadgeAward, a) for a in awards or []]


@strawberry.input
class EnrollMemberInput:
    external_id: str
    display_name: str
    phone: str | None = None
    email: str | None = None
    birthday: date | None = None
    gender: Gender | None = None
    referral_code: str | None = None
    tags: list[str] | None = None
    city: str | None = None


@strawberry.type
class MemberPayload(Payload):
    member: Member | None = None


@strawberry.type
class MemberTokenPayload(Payload):
    token: str | None = None
    expires_at: datetime | None = None


@strawberry.type
class MemberEdge:
    cursor: str
    node: Member


@strawberry.type
class MemberConnection:
    total_count: int
    edges: list[MemberEdge]
    page_info: PageInfo


def member_connection(page: service.MemberPage) -> MemberConnection:
    edges = [
        MemberEdge(cursor=ids.encode_cursor(m.id), node=from_row(Member, m)) for m in page.members
    ]
    return MemberConnection(
        total_count=page.total,
        edges=edges,
        page_info=PageInfo.of(edges, page.has_next),
    )


MAX_TOKEN_TTL = 30 * 24 * 3600


@strawberry.type
class Query:
    @strawberry.field(
        description="Role of the credential used (null when none).",
        permission_classes=[ValidCredential],
    )
    def viewer_role(self, info: Info) -> Role | None:
        return info.context.viewer.role

    @strawberry.field(permission_classes=[IsMember])
    async def me(self, info: Info) -> Member:
        """One indexed read: the member with their balances, lifetime points and tier; the
        fields below find them in the request's loaders."""
        found = await info.context.me()
        if found is None:
            raise NotFound("member not found")
        member, _ = found
        if member.erased_at is not None:
            raise Unauthenticated("this member was erased; its tokens are revoked")
        return from_row(Member, member)

    @strawberry.field(permission_classes=[IsStaff])
    async def member(
        self, info: Info, id: strawberry.ID | None = None, external_id: str | None = None
    ) -> Member | None:
        found = await service.find_member(parse_id(id, "id"), external_id)
        return from_row(Member, found)

    @strawberry.field(permission_classes=[IsAdmin])
    async def members(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        segment_id: strawberry.ID | None = None,
        tier_code: str | None = None,
        search: str | None = None,
    ) -> MemberConnection:
        extra = await tiers.member_filter(tier_code) if tier_code is not None else None
        if segment_id is not None:
            in_segment = await segments.filter_for(parse_id(segment_id, "segmentId"))
            extra = in_segment if extra is None else extra & in_segment
        return member_connection(
            await service.list_members(first, after, search=search, extra=extra)
        )


@strawberry.type
class Mutation:
    @mutation(IsStaff)
    async def enroll_member(self, info: Info, input: EnrollMemberInput) -> MemberPayload:
        gender = input.gender.value if input.gender else None
        data = from_input(service.Enrolment, input, gender=gender)
        return MemberPayload(member=from_row(Member, await enrolment.enroll(data)))

    @mutation(IsStaff)
    async def issue_member_token(
        self, info: Info, member_external_id: str, ttl_seconds: int | None = 3600
    ) -> MemberTokenPayload:
        ttl = 3600 if ttl_seconds is None else ttl_seconds
        if not 60 <= ttl <= MAX_TOKEN_TTL:
            raise InvalidInput(f"ttlSeconds must be 60..{MAX_TOKEN_TTL}", "ttlSeconds")
        member = await service.get_by_external_id(member_external_id)
        token, expires = issue_member_token(
            member.id, timedelta(seconds=ttl), info.context.settings
        )
        return MemberTokenPayload(token=token, expires_at=expires)
