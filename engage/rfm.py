"""RFM: every member with orders scored 1..5 on recency, frequency and monetary value.

Counted orders are those not refunded in full (COMPLETED, PARTIALLY_REFUNDED); monetary
value is what was kept (amount - refunded). Members without such orders have no RFM.

Scores are quintiles over the members with orders, by percent rank (ties share a score):
    score = 1 + floor(5 x (rank - 1) / (members - 1)), capped at 5 (a lone member gets 5)
ranked by last order time (recency: the most recent gets 5), number of orders
(frequency) and value kept (monetary).

Segment, first rule that holds (R, F, M are the scores):
    CHAMPIONS    R >= 4 and F + M >= 8     buy often, much, and lately
    NEW          R >= 4 and F = 1          a first order, lately
    LOYAL        R >= 3 and F + M >= 6     steady buyers, still active
    POTENTIAL    R >= 3                    active but small or rare so far
    AT_RISK      F + M >= 6                were good customers, gone quiet
    HIBERNATING  otherwise                 small, rare and long ago

`recompute()` does it all in one INSERT ... SELECT with window functions (no member is
loaded into Python), then drops the scores of members who no longer have counted orders.
The job runs it when the last run is older than RECOMPUTE_EVERY; `loyalty rfm` runs it now.
"""

from __future__ import annotations

from datetime import timedelta

from tortoise.transactions import in_transaction

from core import clock
from core.sql import dialect
from engage import sql
from engage.models import MemberRfm

SEGMENTS = ("CHAMPIONS", "NEW", "LOYAL", "POTENTIAL", "AT_RISK", "HIBERNATING")
RECOMPUTE_EVERY = timedelta(hours=1)

_SCORE = "CASE WHEN cnt = 1 THEN 5 ELSE MIN_FN(5, 1 + (5 * ({rank} - 1)) / (cnt - 1)) END"

_RECOMPUTE = """
WITH stats AS (
    SELECT member_id, MAX(occurred_at) AS last_at, COUNT(*) AS n,
           SUM(amount - refunded_amount) AS total
    FROM orders WHERE status <> 'REFUNDED' GROUP BY member_id
), ranked AS (
    SELECT member_id, last_at, n, total,
           RANK() OVER (ORDER BY last_at) AS r_rank,
           RANK() OVER (ORDER BY n) AS f_rank,
           RANK() OVER (ORDER BY total) AS m_rank,
           COUNT(*) OVER () AS cnt
    FROM stats
), scored AS (
    SELECT member_id, last_at, n, total,
           {r} AS r, {f} AS f, {m} AS m
    FROM ranked
)
INSERT INTO member_rfm (member_id, recency, frequency, monetary, segment,
                        last_order_at, orders, total, computed_at)
SELECT member_id, r, f, m,
       CASE WHEN r >= 4 AND f + m >= 8 THEN 'CHAMPIONS'
            WHEN r >= 4 AND f = 1 THEN 'NEW'
            WHEN r >= 3 AND f + m >= 6 THEN 'LOYAL'
            WHEN r >= 3 THEN 'POTENTIAL'
            WHEN f + m >= 6 THEN 'AT_RISK'
            ELSE 'HIBERNATING' END,
       last_at, n, total, $1
FROM scored WHERE true
ON CONFLICT (member_id) DO UPDATE SET
    recency = excluded.recency, frequency = excluded.frequency,
    monetary = excluded.monetary, segment = excluded.segment,
    last_order_at = excluded.last_order_at, orders = excluded.orders,
    total = excluded.total, computed_at = excluded.computed_at
"""

# NOT EXISTS (an anti-join on the orders' member index), not NOT IN: PostgreSQL runs a
# NOT IN over a large subquery row by row.
_DROP_STALE = """
DELETE FROM member_rfm WHERE NOT EXISTS (
    SELECT 1 FROM orders
    WHERE orders.member_id = member_rfm.member_id AND orders.status <> 'REFUNDED'
)
"""


def _statement() -> str:
    least = "LEAST" if dialect() == "postgres" else "MIN"
    scores = {
        key: _SCORE.format(rank=rank).replace("MIN_FN", least)
        for key, rank in (("r", "r_rank"), ("f", "f_rank"), ("m", "m_rank"))
    }
    return _RECOMPUTE.format(**scores)


async def recompute() -> int:
    """Score every member with counted orders now; returns how many were scored."""
    now = clock.now()
    async with in_transaction() as conn:
        await sql.execute(_statement(), [now], conn)
        await sql.execute(_DROP_STALE, [], conn)
        scored = await sql.one("SELECT COUNT(*) AS n FROM member_rfm", [], conn)
    return int(scored["n"])


async def recompute_if_due() -> int | None:
    """The scheduled job: recompute when the last run is older than RECOMPUTE_EVERY."""
    last = await MemberRfm.all().order_by("-computed_at").first()
    if last is not None and clock.now() - last.computed_at < RECOMPUTE_EVERY:
        return None
    return await recompute()


async def of_members(member_ids: list[int]) -> dict[int, MemberRfm]:
    return {r.member_id: r for r in await MemberRfm.filter(member_id__in=member_ids)}
