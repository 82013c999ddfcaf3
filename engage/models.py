"""Tables owned by engage/: RFM scores, notification campaigns, the inbox, NPS answers."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from members.models import Member
    from members.segment_models import Segment


class MemberRfm(Model):
    """The latest RFM scores (1..5 each) and segment of a member with orders."""

    member_id = fields.IntField(primary_key=True)
    recency = fields.SmallIntField()
    frequency = fields.SmallIntField()
    monetary = fields.SmallIntField()
    segment = fields.CharField(max_length=16, db_index=True)
    last_order_at = fields.DatetimeField()
    orders = fields.IntField()
    total = fields.DecimalField(max_digits=20, decimal_places=2, default=Decimal(0))
    computed_at = fields.DatetimeField()

    class Meta:
        table = "member_rfm"


class CampaignStatus(Enum):
    SCHEDULED = "SCHEDULED"
    SENDING = "SENDING"
    SENT = "SENT"
    CANCELLED = "CANCELLED"


class NotificationCampaign(Model):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=100)
    body = fields.CharField(max_length=1000)
    deep_link = fields.CharField(max_length=500, null=True)
    segment: fields.ForeignKeyNullableRelation[Segment] = fields.ForeignKeyField(
        "loyalty.Segment", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    segment_id: int | None
    # As asked (null = now); due_at is when delivery may start, moved past quiet hours.
    send_at = fields.DatetimeField(null=True)
    due_at = fields.DatetimeField()
    deferred = fields.BooleanField(default=False)
    status = fields.CharField(max_length=16, default=CampaignStatus.SCHEDULED.value)
    created_at = fields.DatetimeField()
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    # Delivery goes through members in id order; every member <= cursor is done.
    cursor = fields.IntField(default=0)
    targeted = fields.IntField(default=0)
    delivered = fields.IntField(default=0)
    suppressed_by_cap = fields.IntField(default=0)
    deferred_by_quiet_hours = fields.IntField(default=0)

    class Meta:
        table = "notification_campaign"
        indexes = (("status", "due_at"),)


class NotificationKind(Enum):
    CAMPAIGN = "CAMPAIGN"
    TIER_UP = "TIER_UP"
    MISSION_COMPLETED = "MISSION_COMPLETED"
    VOUCHER_EXPIRING = "VOUCHER_EXPIRING"
    POINTS_EXPIRING = "POINTS_EXPIRING"
    TIER_AT_RISK = "TIER_AT_RISK"


class Notification(Model):
    """One message in a member inbox, and its push (an outbox row while push_due_at is set)."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name=False, on_delete=fields.CASCADE
    )
    member_id: int
    kind = fields.CharField(max_length=24)
    # What makes it unique per member: "campaign:7", "tier:GOLD:2026-06-01", ...
    key = fields.CharField(max_length=120)
    campaign_id = fields.IntField(null=True)
    title = fields.CharField(max_length=100)
    body = fields.CharField(max_length=1000)
    deep_link = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)
    # The push is owed from push_due_at on (null: pushed, given up, or never owed).
    push_due_at = fields.DatetimeField(null=True, db_index=True)
    pushed_at = fields.DatetimeField(null=True)
    push_attempts = fields.SmallIntField(default=0)

    class Meta:
        table = "notification"
        unique_together = (("member_id", "key"),)
        indexes = (("member_id", "created_at"),)


class NpsResponse(Model):
    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name=False, on_delete=fields.CASCADE
    )
    member_id: int
    score = fields.SmallIntField()
    comment = fields.CharField(max_length=1000, null=True)
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "nps_response"
        indexes = (("member_id", "created_at"),)
