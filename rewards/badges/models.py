"""Tables of badges: their definitions, and who holds them (each member at most once)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from members.models import Member


class Badge(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=100)
    description = fields.TextField(null=True)
    icon_url = fields.CharField(max_length=500, null=True)
    secret = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "badge"


class BadgeAward(Model):
    id = fields.IntField(primary_key=True)
    badge: fields.ForeignKeyRelation[Badge] = fields.ForeignKeyField(
        "loyalty.Badge", related_name="awards", on_delete=fields.CASCADE
    )
    badge_id: int
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name="badge_awards", on_delete=fields.CASCADE
    )
    member_id: int
    awarded_at = fields.DatetimeField()
    # What granted it: "mission:12", "stamp_card:3", "spin:7", "admin".
    source = fields.CharField(max_length=100)

    class Meta:
        table = "badge_award"
        unique_together = (("member_id", "badge_id"),)


__models__ = [Badge, BadgeAward]
