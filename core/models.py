"""Infrastructure tables: API keys (stored hashed), the audit trail of admin mutations,
the outbox, the definitions version."""

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


class OutboxEntry(Model):
    """After-commit effects of one unit of work, written in its transaction.

    The relay applies `payload` (leaderboard changes, live messages, events for
    after-commit handlers) and deletes the row; each effect is idempotent per row id, so a
    retry never doubles and a crash never loses (core/outbox.py).
    """

    id = fields.BigIntField(primary_key=True)
    created_at = fields.DatetimeField()
    # A relay owns the row until then (the process that committed it, at first).
    claimed_until = fields.DatetimeField(db_index=True)
    attempts = fields.IntField(default=0)
    # ",12,40," the members the effects touch: the board reconciliation skips them.
    members = fields.TextField(default="")
    payload = fields.TextField()

    class Meta:
        table = "outbox"


class DefinitionsVersion(Model):
    """One row: bumped in the transaction of every change to the program's definitions."""

    id = fields.IntField(primary_key=True)
    version = fields.BigIntField(default=0)

    class Meta:
        table = "definitions_version"


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
