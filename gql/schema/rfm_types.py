"""The Rfm type shown on Member (kept apart so members and engage schema can both use it)."""

from __future__ import annotations

from datetime import datetime

import strawberry


@strawberry.type
class Rfm:
    recency: int
    frequency: int
    monetary: int
    segment: str = strawberry.field(description="e.g. CHAMPIONS, LOYAL, AT_RISK, HIBERNATING, NEW.")
    computed_at: datetime
