"""Tables owned by engage/: RFM scores, notification campaigns, the inbox, message templates,
message deliveries (every channel's outbox and record), webhooks and their deliveries, NPS
answers."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

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
    suppressed_by_consent = fields.IntField(default=0)
    deferred_by_quiet_hours = fields.IntField(default=0)
    # PUSH, SMS, EMAIL or ZALO (members.consents.Channel).
    channel = fields.CharField(max_length=8, default="PUSH")
    # The stored template its title and body were taken from (None: written for it).
    template_key = fields.CharField(max_length=64, null=True)
    # An order within this many days after a member's message was sent is a conversion.
    conversion_window_days = fields.IntField(default=7)

    class Meta:
        table = "notification_campaign"
        indexes = (("status", "due_at"),)


class NotificationKind(Enum):
    CAMPAIGN = "CAMPAIGN"
    WELCOME = "WELCOME"
    BIRTHDAY = "BIRTHDAY"
    TIER_UP = "TIER_UP"
    MISSION_COMPLETED = "MISSION_COMPLETED"
    VOUCHER_EXPIRING = "VOUCHER_EXPIRING"
    POINTS_EXPIRING = "POINTS_EXPIRING"
    TIER_AT_RISK = "TIER_AT_RISK"


class Notification(Model):
    """One message in a member inbox; how it was carried (push, SMS ...) is in MessageDelivery."""

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

    class Meta:
        table = "notification"
        unique_together = (("member_id", "key"),)
        indexes = (("member_id", "created_at"), ("campaign_id", "member_id"))


class MessageTemplate(Model):
    """An admin's text for one message key on one channel (built-in defaults are not rows)."""

    id = fields.IntField(primary_key=True)
    # A transactional key (welcome, tier.up, ...) or a campaign's own key.
    key = fields.CharField(max_length=64)
    channel = fields.CharField(max_length=8)
    title = fields.CharField(max_length=100, null=True)
    body = fields.CharField(max_length=1000)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "message_template"
        unique_together = (("key", "channel"),)


class DeliveryStatus(Enum):
    PENDING = "PENDING"  # owed from due_at on
    SENT = "SENT"  # the channel's provider accepted it
    FAILED = "FAILED"  # refused, or given up after MAX_ATTEMPTS
    CANCELLED = "CANCELLED"  # the member was erased before it went


class MessageDelivery(Model):
    """One message on one channel to one member: the channel's outbox row while due_at is
    set, then the record of what happened to it."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name=False, on_delete=fields.CASCADE
    )
    member_id: int
    channel = fields.CharField(max_length=8)
    # The template key it was written from: tier.up, welcome, a campaign's key ...
    template_key = fields.CharField(max_length=64)
    campaign_id = fields.IntField(null=True)
    notification_id = fields.BigIntField(null=True)
    title = fields.CharField(max_length=100, null=True)
    body = fields.CharField(max_length=1000)
    deep_link = fields.CharField(max_length=500, null=True)
    # The placeholder values it was written with (provider body templates use them too).
    data: Any = fields.JSONField(null=True)
    status = fields.CharField(max_length=12, default=DeliveryStatus.PENDING.value)
    attempts = fields.SmallIntField(default=0)
    last_error = fields.CharField(max_length=500, null=True)
    # Owed from due_at on; null once sent, failed or cancelled. A claim moves it forward.
    due_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    # The member followed the message's tracked link ({link}).
    opened_at = fields.DatetimeField(null=True)

    class Meta:
        table = "message_delivery"
        indexes = (("channel", "due_at"), ("campaign_id", "member_id"), ("member_id", "id"))


class Webhook(Model):
    """A receiver of business events (a CRM, a data warehouse). The secret signs every
    delivery; it is kept as given (it must be readable to sign) and shown only once."""

    id = fields.IntField(primary_key=True)
    url = fields.CharField(max_length=500)
    events: Any = fields.JSONField()
    secret = fields.CharField(max_length=100)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "webhook"


class WebhookDelivery(Model):
    """One business event owed to one webhook: the body as first written (so every retry
    sends, and signs, the same bytes), attempts and the receiver's last answer."""

    id = fields.BigIntField(primary_key=True)
    webhook: fields.ForeignKeyRelation[Webhook] = fields.ForeignKeyField(
        "loyalty.Webhook", related_name=False, on_delete=fields.CASCADE
    )
    webhook_id: int
    event_id = fields.CharField(max_length=40)
    event = fields.CharField(max_length=40)
    payload = fields.TextField()
    status = fields.CharField(max_length=12, default="PENDING")
    attempts = fields.SmallIntField(default=0)
    last_status_code = fields.IntField(null=True)
    last_error = fields.CharField(max_length=500, null=True)
    # Owed from due_at on (null once delivered or failed for good).
    due_at = fields.DatetimeField(null=True, db_index=True)
    created_at = fields.DatetimeField()
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "webhook_delivery"
        unique_together = (("webhook_id", "event_id"),)
        indexes = (("webhook_id", "id"),)


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
