"""Tables of segments: a named rule set over members, or a fixed list of members."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from members.models import Member


class Segment(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    # Rules as given (snake_case keys of SegmentRules); null for a fixed list.
    rules: Any = fields.JSONField(null=True)
    static = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()

    class Meta:
        table = "segment"


class SegmentMember(Model):
    """One member of a fixed-list segment."""

    id = fields.IntField(primary_key=True)
    segment: fields.ForeignKeyRelation[Segment] = fields.ForeignKeyField(
        "loyalty.Segment", related_name="fixed_members", on_delete=fields.CASCADE
    )
    segment_id: int
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name=False, on_delete=fields.CASCADE
    )
    member_id: int

    class Meta:
        table = "segment_member"
        unique_together = (("segment_id", "member_id"),)
