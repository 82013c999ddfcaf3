"""Tables of the points ledger: accounts, append-only postings, lots, idempotency keys.

Every posting moves `amount` (> 0) points from its debit account to its credit account;
an account's cached `balance` is what it received minus what it gave, so the balances of
all accounts sum to zero. Postings are only ever inserted.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    pass


class AccountKind(Enum):
    AUTHORISED = "AUTHORISED"  # where the budget comes from: minus everything ever authorised
    ISSUANCE = "ISSUANCE"  # the issuance budget still available to credit
    REDEEMED = "REDEEMED"
    EXPIRED = "EXPIRED"
    AVAILABLE = "AVAILABLE"  # a member's spendable points
    PENDING = "PENDING"  # a member's points inside the return window


class Account(Model):
    # A readable key ("issuance", "m:42:available") so hot paths need no id lookup.
    key = fields.CharField(max_length=64, primary_key=True)
    kind = fields.CharField(max_length=16)
    member_id = fields.IntField(null=True, db_index=True)
    balance = fields.BigIntField(default=0)

    class Meta:
        table = "ledger_account"


class Posting(Model):
    id = fields.BigIntField(primary_key=True)
    debit_account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "loyalty.Account", related_name=False, on_delete=fields.RESTRICT
    )
    debit_account_id: str
    credit_account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "loyalty.Account", related_name=False, on_delete=fields.RESTRICT
    )
    credit_account_id: str
    amount = fields.BigIntField()
    reason = fields.CharField(max_length=16)
    description = fields.CharField(max_length=200, null=True)
    order_id = fields.CharField(max_length=128, null=True)
    # The member whose points moved, and by how much from their point of view.
    member_id = fields.IntField(null=True)
    delta = fields.BigIntField(default=0)
    # What the POINTS_EARNED leaderboard counts and lifetimePoints sums.
    earned = fields.BigIntField(default=0)
    # Moves between a member's own accounts (pending -> available) are not history.
    internal = fields.BooleanField(default=False)
    # Set only where a posting must exist once (the initial budget).
    ref = fields.CharField(max_length=64, null=True, unique=True)
    created_at = fields.DatetimeField()
    earned_at = fields.DatetimeField(null=True)
    available_at = fields.DatetimeField(null=True)
    expires_at = fields.DatetimeField(null=True)

    class Meta:
        table = "ledger_posting"
        # created_at: analytics sums points issued and redeemed over a time range (engage).
        indexes = (("member_id", "id"), ("created_at",))


class LotState(Enum):
    PENDING = "PENDING"
    AVAILABLE = "AVAILABLE"


class Lot(Model):
    """Points earned together: spending, clawback and expiry take the oldest first."""

    id = fields.BigIntField(primary_key=True)
    member_id = fields.IntField()
    # Lots written with their postings in one statement are not linked to them.
    posting_id = fields.BigIntField(null=True)
    order_id = fields.CharField(max_length=128, null=True)
    reason = fields.CharField(max_length=16)
    points = fields.BigIntField()
    remaining = fields.BigIntField()
    # What expiry took from this lot: a refund of its order must not claw that back again.
    expired = fields.BigIntField(default=0)
    state = fields.CharField(max_length=16)
    earned_at = fields.DatetimeField()
    available_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(null=True)

    class Meta:
        table = "ledger_lot"
        indexes = (("member_id", "state", "remaining"), ("state", "available_at"), ("expires_at",))


class IdempotencyRecord(Model):
    """One row per (kind, key): a fingerprint of the request and the answer first given."""

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=32)
    key = fields.CharField(max_length=200)
    fingerprint = fields.CharField(max_length=64)
    result: Any = fields.JSONField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "idempotency_record"
        unique_together = (("kind", "key"),)
