"""Tables of the voucher catalog: offers members spend points on, and the vouchers they hold."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class VoucherOffer(Model):
    """A catalog entry. `claimed` counts every voucher issued from it (claims and grants)."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    description = fields.TextField(null=True)
    points_cost = fields.IntField()
    discount_type = fields.CharField(max_length=8)  # AMOUNT | PERCENT
    discount_value = fields.DecimalField(max_digits=18, decimal_places=4)
    max_discount = fields.DecimalField(max_digits=18, decimal_places=4, null=True)
    min_order_amount = fields.DecimalField(max_digits=18, decimal_places=4, null=True)
    # Total vouchers it may ever issue; null = unlimited. Taken with a conditional update.
    stock = fields.IntField(null=True)
    claimed = fields.IntField(default=0)
    per_member_limit = fields.IntField(default=1)
    valid_from = fields.DatetimeField(null=True)
    valid_until = fields.DatetimeField(null=True)
    voucher_valid_days = fields.IntField(default=30)
    hidden = fields.BooleanField(default=False)
    tier_codes: fields.Field[list[str] | None] = fields.JSONField(null=True)
    # A members.segments Segment id (no FK: segments are engage's table).
    segment_id = fields.IntField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "voucher_offer"


class Voucher(Model):
    """One issued voucher. Its status is ACTIVE or REDEEMED, and EXPIRED is read from expires_at."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    offer: fields.ForeignKeyRelation[VoucherOffer] = fields.ForeignKeyField(
        "loyalty.VoucherOffer", related_name="vouchers", on_delete=fields.RESTRICT
    )
    offer_id: int
    member: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "loyalty.Member", related_name="vouchers", on_delete=fields.CASCADE
    )
    member_id: int
    # "claim" when bought with points, else what granted it ("mission:12", "spin:7", ...).
    source = fields.CharField(max_length=64)
    points_spent = fields.IntField(default=0)
    status = fields.CharField(max_length=16, default="ACTIVE")
    claimed_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(db_index=True)
    redeemed_at = fields.DatetimeField(null=True)
    order_id = fields.CharField(max_length=128, null=True)
    order_amount = fields.DecimalField(max_digits=18, decimal_places=4, null=True)
    discount = fields.DecimalField(max_digits=18, decimal_places=4, null=True)

    class Meta:
        table = "voucher"
        indexes = (("member_id", "offer_id"),)
