"""The leaderboard definitions table (scores themselves live only in Redis)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class LeaderboardDefinition(Model):
    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=100)
    metric = fields.CharField(max_length=16)
    action_type = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "leaderboard_definition"
