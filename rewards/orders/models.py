"""Tables of orders: each order reported by the shop, and each refund against it."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from members.models import Member


class OrderStatus(Enum):
    COMPLETED = "COMPLETED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"


class Order(Model):
    id = fields.IntField(primary_key=True)
    order_id = fields.CharField(max_length=128, unique=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name=False, on_delete=fields.RESTRICT
    )
    member_id: int
    amount = fields.DecimalField(max_digits=18, decimal_places=2)
    refunded_amount = fields.DecimalField(max_digits=18, decimal_places=2, default=Decimal(0))
    status = fields.CharField(max_length=20, default=OrderStatus.COMPLETED.value)
    occurred_at = fields.DatetimeField(db_index=True)
    recorded_at = fields.DatetimeField()
    channel = fields.CharField(max_length=50, null=True)
    points_earned = fields.IntField(default=0)
    tier_points_earned = fields.IntField(default=0)
    referral_points_awarded = fields.IntField(default=0)
    points_reversed = fields.IntField(default=0)
    tier_points_reversed = fields.IntField(default=0)

    class Meta:
        table = "orders"
        indexes = (("member_id", "occurred_at"),)


class Refund(Model):
    id = fields.IntField(primary_key=True)
    refund_id = fields.CharField(max_length=128, unique=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "loyalty.Order", related_name="refunds", on_delete=fields.RESTRICT
    )
    order_id: int
    # As asked: null means "whole remaining amount", so a retry compares like with like.
    requested_amount = fields.DecimalField(max_digits=18, decimal_places=2, null=True)
    amount = fields.DecimalField(max_digits=18, decimal_places=2)
    points_reversed = fields.IntField(default=0)
    tier_points_reversed = fields.IntField(default=0)
    created_at = fields.DatetimeField()

    class Meta:
        table = "order_refund"


__models__ = [Order, Refund]
