"""Infrastructure tables: API keys (stored hashed)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class ApiKey(Model):
    id = fields.IntField(primary_key=True)
    role = fields.CharField(max_length=16)
    # SHA-256 of the key; the key itself is shown once and never stored.
    key_hash = fields.CharField(max_length=64, unique=True)
    prefix = fields.CharField(max_length=12)
    label = fields.CharField(max_length=100, default="")
    created_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_key"
