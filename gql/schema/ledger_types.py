"""GraphQL enums of the ledger shared by several schema areas."""

from __future__ import annotations

import strawberry

from rewards.ledger.reasons import Reason

LedgerReason = strawberry.enum(Reason, name="LedgerReason")
"""Annotate fields with `Reason`; this registers it with strawberry as LedgerReason."""
