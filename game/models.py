"""Tables owned by game/: action types, tracked actions, missions and their progress,
stamp cards and members' cards.

- ActionType: what an action is worth and who may report it (the built-in `order` has no row).
- Action: every tracked occurrence, keyed per member by its idempotency key; `earned` marks
  the points-earning ones the daily cap counts; `result` is the first answer, replayed on retry.
- Mission / MissionProgress: a mission definition, and one row per member and window
  (period_key "" for ONCE). Progress rows are never rewritten when a mission changes.
- StampCard / MemberStampCard: a card definition, and the member's current card.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tortoise import fields
from tortoise.models import Model

from members.models import Member


class ActionType(Model):
    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=100)
    points = fields.IntField(default=0)
    daily_cap = fields.IntField(null=True)
    client_reportable = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "action_type"


class Action(Model):
    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name="actions", on_delete=fields.CASCADE
    )
    member_id: int
    action_type = fields.CharField(max_length=64)
    value = fields.DecimalField(max_digits=20, decimal_places=4, default=Decimal(1))
    attributes: fields.Field[dict[str, Any] | None] = fields.JSONField(null=True)
    occurred_at = fields.DatetimeField()
    # The program-zone day of occurred_at: the daily cap counts earned actions per day.
    day = fields.DateField()
    earned = fields.BooleanField(default=False)
    points_awarded = fields.IntField(default=0)
    idempotency_key = fields.CharField(max_length=200)
    # SHA-256 of the reported content: a retried key with other content is a conflict.
    fingerprint = fields.CharField(max_length=64)
    result: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField()

    class Meta:
        table = "game_action"
        unique_together = (("member_id", "idempotency_key"),)
        # occurred_at alone: analytics counts active members over a time range (engage).
        indexes = (
            ("member_id", "action_type", "day"),
            ("action_type", "occurred_at"),
            ("occurred_at",),
        )


class Mission(Model):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=200)
    description = fields.TextField(null=True)
    action_type = fields.CharField(max_length=64)
    measure = fields.CharField(max_length=16)
    target = fields.DecimalField(max_digits=20, decimal_places=4)
    attribute_filter: fields.Field[dict[str, Any] | None] = fields.JSONField(null=True)
    window = fields.CharField(max_length=16)
    starts_at = fields.DatetimeField(null=True)
    ends_at = fields.DatetimeField(null=True)
    reward_points = fields.IntField(null=True)
    reward_badge_code = fields.CharField(max_length=64, null=True)
    reward_spin_wheel_id = fields.IntField(null=True)
    reward_spins = fields.IntField(null=True)
    reward_voucher_offer_id = fields.IntField(null=True)
    auto_claim = fields.BooleanField(default=True)
    max_completions = fields.IntField(null=True, default=1)
    tier_codes: fields.Field[list[str] | None] = fields.JSONField(null=True)
    # A members.segments Segment id (no FK: segments are engage's table).
    segment_id = fields.IntField(null=True)
    status = fields.CharField(max_length=16)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "mission"
        indexes = (("action_type", "status"),)


class MissionProgress(Model):
    id = fields.BigIntField(primary_key=True)
    mission: fields.ForeignKeyRelation[Mission] = fields.ForeignKeyField(
        "loyalty.Mission", related_name="progress_rows", on_delete=fields.CASCADE
    )
    mission_id: int
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name="mission_progress", on_delete=fields.CASCADE
    )
    member_id: int
    period_key = fields.CharField(max_length=16)
    progress = fields.DecimalField(max_digits=20, decimal_places=4, default=Decimal(0))
    times_completed = fields.IntField(default=0)
    times_claimed = fields.IntField(default=0)
    completed_at = fields.DatetimeField(null=True)
    # STREAK_DAYS: the last local day that extended the streak.
    last_day = fields.DateField(null=True)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "mission_progress"
        unique_together = (("member_id", "mission_id", "period_key"),)


class StampCard(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    action_type = fields.CharField(max_length=64, db_index=True)
    slots = fields.IntField()
    prestamped = fields.IntField(default=0)
    one_per_day = fields.BooleanField(default=False)
    reward_points = fields.IntField(null=True)
    reward_badge_code = fields.CharField(max_length=64, null=True)
    reward_spin_wheel_id = fields.IntField(null=True)
    reward_spins = fields.IntField(null=True)
    reward_voucher_offer_id = fields.IntField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "stamp_card"


class MemberStampCard(Model):
    id = fields.BigIntField(primary_key=True)
    card: fields.ForeignKeyRelation[StampCard] = fields.ForeignKeyField(
        "loyalty.StampCard", related_name="member_cards", on_delete=fields.CASCADE
    )
    card_id: int
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name="stamp_cards", on_delete=fields.CASCADE
    )
    member_id: int
    stamps = fields.IntField()
    completed_count = fields.IntField(default=0)
    last_stamp_day = fields.DateField(null=True)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "member_stamp_card"
        unique_together = (("member_id", "card_id"),)


__models__ = [ActionType, Action, Mission, MissionProgress, StampCard, MemberStampCard]
