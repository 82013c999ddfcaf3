"""Jobs of member care: the tier.at_risk notice (idempotent: keyed per tier and review)."""

from __future__ import annotations

from datetime import datetime, timedelta

from core import clock
from engage import tier_at_risk

# Standings move when points leave the window or grace starts: a few times a day matters,
# every 30 s would only repeat queries (the notices are keyed, so reruns add nothing).
EVERY = timedelta(minutes=30)

_last: datetime | None = None


async def tier_at_risk_notices() -> int | None:
    global _last
    now = clock.now()
    if _last is not None and timedelta(0) <= now - _last < EVERY:
        return None
    _last = now
    return await tier_at_risk.notify_at_risk()
