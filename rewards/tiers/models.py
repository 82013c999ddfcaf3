"""Tables of tiers.

- Tier: the program's tiers, one per threshold.
- TierPointEntry: every tier point earned (+) or removed by a refund (-), dated by when the
  order or action was earned, so a rolling window drops a refund with the points it undoes.
"""

from __future__ import annotations

from decimal import Decimal

from tortoise import fields
from tortoise.models import Model

from members.models import Member


class Tier(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=100)
    description = fields.TextField(null=True)
    threshold = fields.IntField(unique=True)
    earn_multiplier = fields.DecimalField(max_digits=8, decimal_places=4, default=Decimal(1))
    voucher_discount_percent = fields.DecimalField(
        max_digits=7, decimal_places=4, default=Decimal(0)
    )
    price_list_code = fields.CharField(max_length=64, null=True)
    perks: fields.Field[list[str]] = fields.JSONField(default=list)

    class Meta:
        table = "tier"


class TierPointEntry(Model):
    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name="tier_point_entries", on_delete=fields.CASCADE
    )
    member_id: int
    points = fields.IntField()
    earned_at = fields.DatetimeField()
    source = fields.CharField(max_length=160)
    order_id = fields.CharField(max_length=128, null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "tier_point_entry"
        indexes = (("member_id", "earned_at"), ("member_id", "order_id"))


__models__ = [Tier, TierPointEntry]
