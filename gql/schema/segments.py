"""Segments (members/segments.py): the Segment type, `segments` and `createSegment`.

The two root fields are served among engage's (gql/schema/engage.py lists them in its
roots, between the inbox and the campaigns), where the schema has always had them.
"""

from __future__ import annotations

import strawberry

from gql.context import Info
from gql.permissions import IsAdmin
from gql.schema.members import MemberConnection, member_connection
from gql.types import Payload, from_input, from_row, mutation
from members import segments
from members.segment_models import Segment as SegmentModel


@strawberry.type
class Segment:
    model: strawberry.Private[SegmentModel]
    id: strawberry.ID
    name: str

    @strawberry.field(description="Members in the segment now (exact).")
    async def member_count(self, info: Info) -> int:
        return await info.context.loaders.segment_count.load(self.model.id) or 0

    @strawberry.field
    async def members(
        self, info: Info, first: int = 50, after: str | None = None
    ) -> MemberConnection:
        return member_connection(await segments.members_page(self.model.id, first, after))


@strawberry.input
class SegmentRulesInput:
    tier_codes: list[str] | None = None
    birthday_month: int | None = None
    rfm_segments: list[str] | None = None
    min_lifetime_points: int | None = None
    inactive_days: int | None = strawberry.field(
        default=None,
        description="Members whose last order is older than this many days (or who never ordered).",
    )
    tags: list[str] | None = None


@strawberry.input
class SegmentInput:
    name: str
    rules: SegmentRulesInput | None = None
    member_external_ids: list[str] | None = strawberry.field(
        default=None, description="A fixed list of members (e.g. imported from a spreadsheet)."
    )


@strawberry.type
class SegmentPayload(Payload):
    segment: Segment | None = None


# --------------------------------------------------------------------------- root fields


@strawberry.field(permission_classes=[IsAdmin], description="Admin.")
async def segments_field(info: Info) -> list[Segment]:
    return [from_row(Segment, s) for s in await segments.list_segments()]


@mutation(IsAdmin)
async def create_segment(info: Info, input: SegmentInput) -> SegmentPayload:
    segment = await segments.create_segment(
        input.name,
        from_input(segments.SegmentRules, input.rules),
        input.member_external_ids,
    )
    return SegmentPayload(segment=from_row(Segment, segment))
