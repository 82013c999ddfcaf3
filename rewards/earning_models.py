"""Tables owned by tiers, promotions, referrals and birthday points (rewards/earning's rules).

- Tier: the program's tiers, one per threshold.
- TierPointEntry: every tier point earned (+) or removed by a refund (-), dated by when the
  order or action was earned, so a rolling window drops a refund with the points it undoes.
- Promotion: a points multiplier over a period.
- Referral / ReferralCommission: who referred whom, and what each referee order paid.
- BirthdayCredit: the (member, year) birthday points were paid for, which makes the job
  idempotent.
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


class Promotion(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    multiplier = fields.DecimalField(max_digits=8, decimal_places=4)
    starts_at = fields.DatetimeField(db_index=True)
    ends_at = fields.DatetimeField(db_index=True)
    days_of_week: fields.Field[list[int] | None] = fields.JSONField(null=True)
    tier_codes: fields.Field[list[str] | None] = fields.JSONField(null=True)
    action_types: fields.Field[list[str] | None] = fields.JSONField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "promotion"


class Referral(Model):
    id = fields.IntField(primary_key=True)
    referrer: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name="referrals_made", on_delete=fields.CASCADE
    )
    referrer_id: int
    referee: fields.OneToOneRelation[Member] = fields.OneToOneField(
        "loyalty.Member", related_name="referral", on_delete=fields.CASCADE
    )
    referee_id: int
    created_at = fields.DatetimeField()
    qualified_at = fields.DatetimeField(null=True)
    # Net commission paid to the referrer (credits minus refund reversals).
    points_earned = fields.IntField(default=0)

    class Meta:
        table = "referral"


class ReferralCommission(Model):
    id = fields.IntField(primary_key=True)
    referral: fields.ForeignKeyRelation[Referral] = fields.ForeignKeyField(
        "loyalty.Referral", related_name="commissions", on_delete=fields.CASCADE
    )
    referral_id: int
    order_id = fields.CharField(max_length=128, unique=True)
    amount = fields.DecimalField(max_digits=18, decimal_places=4)
    points = fields.IntField()
    refunded_amount = fields.DecimalField(max_digits=18, decimal_places=4, default=Decimal(0))
    reversed_points = fields.IntField(default=0)
    created_at = fields.DatetimeField()

    class Meta:
        table = "referral_commission"


class BirthdayCredit(Model):
    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name="birthday_credits", on_delete=fields.CASCADE
    )
    member_id: int
    year = fields.IntField()
    points = fields.IntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "birthday_credit"
        unique_together = (("member_id", "year"),)


__models__ = [
    Tier,
    TierPointEntry,
    Promotion,
    Referral,
    ReferralCommission,
    BirthdayCredit,
]
