"""Program analytics for a time range, from aggregate SQL only (no member is loaded).

For [start, end], both included (default: the 30 days up to now):
    members              enrolled by `end`
    new_members          enrolled in the range
    active_members       with an order or a game action in the range
    retention_rate       of members active in the previous range of equal length
                         [start - (end - start), start), the
                         percent active in this one (null when nobody was active before)
    average_lifetime_value  order amounts kept (amount - refunded, orders by `end`)
                         over `members`
    points_issued        points credited to members from the issuance budget in the range
    points_redeemed      points spent (redemptions, vouchers, spins) in the range
    redemption_rate      redeemed / issued, percent (null when nothing was issued)
    tiers                members per tier held now (no stored tier = the starting tier)
    rfm                  members per RFM segment of the latest scoring
    nps                  answers given in the range
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from core import clock
from core.errors import InvalidInput
from engage import nps, sql
from rewards.tiers import service as tiers
from rewards.tiers.models import Tier

DEFAULT_RANGE = timedelta(days=30)

_MEMBERS = """
SELECT
  (SELECT COUNT(*) FROM member WHERE enrolled_at <= $1) AS members,
  (SELECT COUNT(*) FROM member WHERE enrolled_at >= $2 AND enrolled_at <= $3) AS new_members,
  (SELECT COALESCE(SUM(amount - refunded_amount), 0) FROM orders WHERE occurred_at <= $4)
    AS order_value
"""

# One pass over both ranges: per member, were they active in this range, the one before?
_ACTIVITY = """
WITH act AS (
    SELECT member_id, occurred_at FROM orders WHERE occurred_at >= $1 AND occurred_at <= $2
    UNION ALL
    SELECT member_id, occurred_at FROM game_action WHERE occurred_at >= $3 AND occurred_at <= $4
), per AS (
    SELECT member_id,
           MAX(CASE WHEN occurred_at >= $5 THEN 1 ELSE 0 END) AS cur,
           MAX(CASE WHEN occurred_at < $6 THEN 1 ELSE 0 END) AS prev
    FROM act GROUP BY member_id
)
SELECT COALESCE(SUM(cur), 0) AS active, COALESCE(SUM(prev), 0) AS previous,
       COALESCE(SUM(cur * prev), 0) AS retained
FROM per
"""

# The issuance budget is split over shards: 'issuance', 'issuance:1', ...
_POINTS = """
SELECT
  COALESCE(SUM(CASE WHEN credit_account_id <> 'redeemed' AND member_id IS NOT NULL
                    THEN amount ELSE 0 END), 0) AS issued,
  COALESCE(SUM(CASE WHEN credit_account_id = 'redeemed' THEN amount ELSE 0 END), 0) AS redeemed
FROM ledger_posting
WHERE created_at >= $1 AND created_at <= $2
  AND (debit_account_id = 'issuance' OR debit_account_id LIKE 'issuance:%'
       OR credit_account_id = 'redeemed')
"""

_TIERS = """
SELECT tier_code, COUNT(*) AS n FROM member_state WHERE tier_code IS NOT NULL GROUP BY tier_code
"""
_RFM = "SELECT segment, COUNT(*) AS n FROM member_rfm GROUP BY segment ORDER BY segment"


@dataclass
class TierCount:
    tier: Tier | None
    members: int


@dataclass
class ProgramAnalytics:
    start: datetime
    end: datetime
    members: int = 0
    new_members: int = 0
    active_members: int = 0
    retention_rate: float | None = None
    average_lifetime_value: Decimal = Decimal(0)
    points_issued: int = 0
    points_redeemed: int = 0
    redemption_rate: float | None = None
    tiers: list[TierCount] = field(default_factory=list)
    rfm: list[tuple[str, int]] = field(default_factory=list)
    nps: nps.NpsSummary = field(default_factory=nps.NpsSummary)


def _aware(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def _range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    end = _aware(end) or clock.now()
    start = _aware(start) or end - DEFAULT_RANGE
    if start >= end:
        raise InvalidInput("from must be before to", "from")
    return start, end


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


async def compute(start: datetime | None = None, end: datetime | None = None) -> ProgramAnalytics:
    start, end = _range(start, end)
    before = start - (end - start)
    found = ProgramAnalytics(start=start, end=end)
    # Independent aggregates, each on its own pooled connection, at once.
    counts, activity, points, held, rfm_rows, found.nps = await asyncio.gather(
        sql.one(_MEMBERS, [end, start, end, end]),
        sql.one(_ACTIVITY, [before, end, before, end, start, start]),
        sql.one(_POINTS, [start, end]),
        sql.rows(_TIERS),
        sql.rows(_RFM),
        nps.summary(start, end),
    )
    found.members = int(counts["members"])
    found.new_members = int(counts["new_members"])
    value = Decimal(str(counts["order_value"] or 0))
    if found.members:
        found.average_lifetime_value = (value / found.members).quantize(Decimal("0.01"))
    found.active_members = int(activity["active"])
    found.retention_rate = _percent(int(activity["retained"]), int(activity["previous"]))
    found.points_issued = int(points.get("issued") or 0)
    found.points_redeemed = int(points.get("redeemed") or 0)
    found.redemption_rate = _percent(found.points_redeemed, found.points_issued)
    found.tiers = await _tier_counts(found.members, held)
    found.rfm = [(r["segment"], int(r["n"])) for r in rfm_rows]
    return found


async def _tier_counts(members: int, rows: list[dict[str, Any]]) -> list[TierCount]:
    """Members per tier held now; those holding no (or a deleted) tier are in the lowest."""
    defined = await tiers.list_tiers()
    held = {r["tier_code"]: int(r["n"]) for r in rows}
    if not defined:
        return [TierCount(tier=None, members=members)] if members else []
    counts: list[Any] = [TierCount(tier=t, members=held.get(t.code, 0)) for t in defined]
    placed = sum(c.members for c in counts)
    counts[0].members += max(0, members - placed)
    return counts
