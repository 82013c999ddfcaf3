"""Infrastructure tables: API keys (stored hashed) and the audit trail of admin mutations."""

from __future__ import annotations

from typing import Any

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


class AuditEntry(Model):
    """One admin mutation: who, when, what (secrets redacted) and its outcome."""

    # Written before the mutation runs ("pending") and completed right after it returns.

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField()
    # "bootstrap admin key" or "api key <id> (<prefix>)": never the key itself.
    actor = fields.CharField(max_length=64)
    key_id = fields.IntField(null=True)
    operation = fields.CharField(max_length=64)
    arguments: fields.Field[dict[str, Any]] = fields.JSONField()
    # "pending" until the mutation returns, then "ok" or "error" (with error_codes).
    outcome = fields.CharField(max_length=16)
    error_codes: fields.Field[list[str] | None] = fields.JSONField(null=True)

    class Meta:
        table = "audit_entry"
