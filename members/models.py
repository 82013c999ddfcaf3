"""Tables owned by members/: the program's settings (one row), members and their care records.

- Member: who the member is; `card_code` is the till's card number, `erased_at` marks a
  member whose personal data was erased (the row stays, under a pseudonym).
- ProfileChange: each profile edit, who made it and which fields moved (old -> new values,
  blanked when the member is erased).
- MemberConsent / ConsentChange: the current consent per channel, and every change of it.
- TierChange: each move between tiers (written where tiers move), for the care history.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tortoise import fields
from tortoise.models import Model

DEFAULT_ISSUANCE_BUDGET = 10_000_000_000


def default_quiet_windows() -> list[dict[str, str]]:
    return [{"start": "21:00", "end": "08:00"}]


class Program(Model):
    """The one loyalty program this service runs (row id 1)."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, default="Loyalty")
    currency = fields.CharField(max_length=3, default="VND")
    timezone = fields.CharField(max_length=64, default="Asia/Ho_Chi_Minh")
    point_value = fields.DecimalField(max_digits=18, decimal_places=4, default=Decimal(1000))
    earn_rate_percent = fields.DecimalField(max_digits=7, decimal_places=4, default=Decimal(5))
    referral_rate_percent = fields.DecimalField(max_digits=7, decimal_places=4, default=Decimal(2))
    referral_window_days = fields.IntField(default=90)
    referral_max_per_member = fields.IntField(null=True)
    referral_welcome_points = fields.IntField(default=0)
    tier_point_unit = fields.DecimalField(max_digits=18, decimal_places=4, default=Decimal(20000))
    tier_window = fields.CharField(max_length=16, default="ROLLING_YEAR")
    tier_grace_days = fields.IntField(default=30)
    welcome_points = fields.IntField(default=0)
    birthday_points = fields.IntField(default=0)
    points_pending_days = fields.IntField(default=0)
    points_expiry_days = fields.IntField(null=True, default=365)
    quiet_hours_start = fields.CharField(max_length=5, null=True, default="21:00")
    quiet_hours_end = fields.CharField(max_length=5, null=True, default="08:00")
    # Every quiet window, [{"start": "21:00", "end": "08:00"}, ...]; the first one is also
    # quiet_hours_start/end (members.program keeps them the same).
    quiet_windows: Any = fields.JSONField(default=default_quiet_windows)
    max_notifications_per_week = fields.IntField(null=True, default=3)
    updated_at = fields.DatetimeField(null=True)

    class Meta:
        table = "program"


class Member(Model):
    id = fields.IntField(primary_key=True)
    external_id = fields.CharField(max_length=128, unique=True)
    display_name = fields.CharField(max_length=100)
    phone = fields.CharField(max_length=20, null=True, db_index=True)
    email = fields.CharField(max_length=254, null=True, db_index=True)
    birthday = fields.DateField(null=True)
    gender = fields.CharField(max_length=16, null=True)
    tags: fields.Field[list[str]] = fields.JSONField(default=list)
    enrolled_at = fields.DatetimeField(db_index=True)
    referral_code = fields.CharField(max_length=8, unique=True)
    referred_by: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name="referees", null=True, on_delete=fields.SET_NULL
    )
    referred_by_id: int | None
    leaderboard_hidden = fields.BooleanField(default=False)
    # 12 digits, the last a Luhn check digit (members.cards); null only once erased.
    card_code = fields.CharField(max_length=12, null=True, unique=True)
    city = fields.CharField(max_length=100, null=True)
    erased_at = fields.DatetimeField(null=True)

    class Meta:
        table = "member"


class ProfileChange(Model):
    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name=False, on_delete=fields.CASCADE
    )
    member_id: int
    changed_at = fields.DatetimeField()
    # The caller's role: MEMBER, ADMIN or INTEGRATION.
    actor = fields.CharField(max_length=16)
    # Names of the fields that changed, e.g. ["phone", "city"].
    names: Any = fields.JSONField(default=list)
    # {"phone": {"old": ..., "new": ...}}; null once the member is erased.
    diff: Any = fields.JSONField(null=True)

    class Meta:
        table = "member_profile_change"
        indexes = (("member_id", "changed_at"),)


class MemberConsent(Model):
    """The member's current answer for one channel (no row: the channel's default)."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name=False, on_delete=fields.CASCADE
    )
    member_id: int
    channel = fields.CharField(max_length=8)
    granted = fields.BooleanField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "member_consent"
        unique_together = (("member_id", "channel"),)
        # Recipient filters select by channel and answer.
        indexes = (("channel", "granted"),)


class ConsentChange(Model):
    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name=False, on_delete=fields.CASCADE
    )
    member_id: int
    channel = fields.CharField(max_length=8)
    granted = fields.BooleanField()
    changed_at = fields.DatetimeField()
    actor = fields.CharField(max_length=16)

    class Meta:
        table = "member_consent_change"
        indexes = (("member_id", "changed_at"),)


class TierChange(Model):
    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name=False, on_delete=fields.CASCADE
    )
    member_id: int
    from_code = fields.CharField(max_length=32, null=True)
    to_code = fields.CharField(max_length=32, null=True)
    changed_at = fields.DatetimeField()

    class Meta:
        table = "member_tier_change"
        indexes = (("member_id", "changed_at"),)
