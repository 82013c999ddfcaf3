"""What campaigns brought back, for many campaigns in ONE aggregate statement.

    opened     members who read the campaign's message in the inbox (the app marks a
               tapped push read) or followed its tracked link
    converted  members with an order (not refunded in full) within the campaign's
               conversionWindowDays after their message was sent on its channel
    revenue    what those orders came to, less what was refunded of them
    sent       messages the channel's provider accepted; failed: refused or given up

Every campaign a member received counts their orders in its own window (a member reached
by two campaigns in a week converts for both).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from core import sql

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Results:
    opened: int = 0
    converted: int = 0
    revenue: Decimal = Decimal(0)
    sent: int = 0
    failed: int = 0


def _statement(ids: str) -> str:
    if sql.dialect() == "postgres":
        within = "o.occurred_at <= r.at + c.conversion_window_days * INTERVAL '1 day'"
        after = "o.occurred_at > r.at"
        net = "o.amount - o.refunded_amount"
    else:
        within = "julianday(o.occurred_at) <= julianday(r.at) + c.conversion_window_days"
        after = "julianday(o.occurred_at) > julianday(r.at)"
        # Cents as integers: SQLite would sum decimal text as floating point.
        net = "CAST(ROUND((o.amount - o.refunded_amount) * 100) AS INTEGER)"
    return f"""
WITH reached AS (
    SELECT campaign_id, member_id, MIN(sent_at) AS at FROM message_delivery
    WHERE campaign_id {ids} AND sent_at IS NOT NULL GROUP BY campaign_id, member_id
), bought AS (
    SELECT r.campaign_id, o.member_id, {net} AS net
    FROM reached r
    JOIN notification_campaign c ON c.id = r.campaign_id
    JOIN orders o ON o.member_id = r.member_id AND {after} AND {within}
    WHERE o.status <> 'REFUNDED'
), opened AS (
    SELECT campaign_id, member_id FROM notification
    WHERE campaign_id {ids} AND read_at IS NOT NULL
    UNION
    SELECT campaign_id, member_id FROM message_delivery
    WHERE campaign_id {ids} AND opened_at IS NOT NULL
)
SELECT c.id,
    (SELECT COUNT(*) FROM opened x WHERE x.campaign_id = c.id) AS opened,
    (SELECT COUNT(DISTINCT b.member_id) FROM bought b WHERE b.campaign_id = c.id) AS converted,
    (SELECT COALESCE(SUM(b.net), 0) FROM bought b WHERE b.campaign_id = c.id) AS revenue,
    (SELECT COUNT(*) FROM message_delivery d
        WHERE d.campaign_id = c.id AND d.status = 'SENT') AS sent,
    (SELECT COUNT(*) FROM message_delivery d
        WHERE d.campaign_id = c.id AND d.status = 'FAILED') AS failed
FROM notification_campaign c WHERE c.id {ids}
"""


async def of(campaign_ids: Iterable[int]) -> dict[int, Results]:
    """The results of each campaign (one statement, whatever the number of campaigns)."""
    wanted = sorted(set(campaign_ids))
    if not wanted:
        return {}
    where, params = sql.id_list(wanted, 1)
    found: dict[int, Results] = {}
    for row in await sql.rows(_statement(where), params):
        revenue = sql.decode_decimal(row["revenue"] or 0)
        if sql.dialect() != "postgres":
            revenue = revenue / 100
        found[int(row["id"])] = Results(
            opened=int(row["opened"]),
            converted=int(row["converted"]),
            revenue=revenue.quantize(CENT),
            sent=int(row["sent"]),
            failed=int(row["failed"]),
        )
    return found
