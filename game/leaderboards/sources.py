"""What a rebuild reads: each board's totals per member from the database, the source of truth.

Each query gives (member id, score, reached ms) for one window, where "reached" is the time
of the member's latest row that changed the score, exactly what the live path stores
(scoring.millis of the same timestamps the events carry). `members` narrows a query to some
members (the reconciliation's re-check of one member under their lock):
- POINTS_EARNED: ledger postings' `earned` (credits +, refund clawbacks -), at created_at.
- TIER_POINTS: tier point entries (earned +, refunded -), at created_at.
- ACTION_COUNT / ACTION_VALUE: tracked actions of the type, at occurred_at (value rounded
  half up per occurrence, as scoring.whole_units does live).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from tortoise import connections

from core import turns
from core.sql import dialect
from game.leaderboards import scoring
from game.leaderboards.definitions import Board, Metric
from game.leaderboards.windows import BoardWindow
from game.models import Action
from rewards.ledger.models import Posting
from rewards.tiers.models import TierPointEntry

Row = tuple[int, int, int]


def _instant(value: Any) -> datetime:
    """A MAX() over a datetime column: SQLite hands back text, PostgreSQL a datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def _grouped(
    table: str,
    total: str,
    at: str,
    where: str,
    params: list[Any],
    w: BoardWindow,
    members: Sequence[int] | None,
) -> list[Row]:
    """SUM/COUNT and MAX(time) per member in one GROUP BY, in plain SQL: an ORM round trip
    would parse every MAX() through its datetime field, the bulk of a large rebuild."""
    conn = connections.get("default")
    mark = (lambda n: f"${n}") if dialect() == "postgres" else (lambda n: "?")
    params = list(params)
    if w.start is not None and w.end is not None:
        params += [w.start, w.end]
        where += f" AND {at} >= {mark(len(params) - 1)} AND {at} < {mark(len(params))}"
    if members is not None:
        if not members:
            return []
        where += f" AND member_id IN ({', '.join(str(int(m)) for m in members)})"
    sql = f"SELECT member_id, {total}, MAX({at}) FROM {table} WHERE {where} GROUP BY member_id"
    _, rows = await conn.execute_query(sql, params)
    found: list[Row] = []
    async for some in turns.slices(rows):
        found += [
            (int(r[0]), scoring.clamp(int(r[1])), scoring.millis(_instant(r[2]))) for r in some
        ]
    return found


async def points_earned(w: BoardWindow, members: Sequence[int] | None = None) -> list[Row]:
    table = Posting._meta.db_table
    where = "member_id IS NOT NULL AND earned <> 0"
    return await _grouped(table, "SUM(earned)", "created_at", where, [], w, members)


async def tier_points(w: BoardWindow, members: Sequence[int] | None = None) -> list[Row]:
    table = TierPointEntry._meta.db_table
    return await _grouped(table, "SUM(points)", "created_at", "points <> 0", [], w, members)


async def action_count(
    action_type: str, w: BoardWindow, members: Sequence[int] | None = None
) -> list[Row]:
    mark = "$1" if dialect() == "postgres" else "?"
    table = Action._meta.db_table
    where = f"action_type = {mark}"
    return await _grouped(table, "COUNT(*)", "occurred_at", where, [action_type], w, members)


async def action_value(
    action_type: str, w: BoardWindow, members: Sequence[int] | None = None
) -> list[Row]:
    query = Action.filter(action_type=action_type)
    if w.start is not None and w.end is not None:
        query = query.filter(occurred_at__gte=w.start, occurred_at__lt=w.end)
    if members is not None:
        if not members:
            return []
        query = query.filter(member_id__in=list(members))
    rows = await query.values_list("member_id", "value", "occurred_at")
    totals: dict[int, list[int]] = {}
    async for some in turns.slices(rows):
        for member_id, value, occurred_at in some:
            units = scoring.whole_units(value)
            if units == 0:
                continue
            reached = scoring.millis(_instant(occurred_at))
            entry = totals.setdefault(int(member_id), [0, 0])
            entry[0] += units
            entry[1] = max(entry[1], reached)
    return [(m, scoring.clamp(s), t) for m, (s, t) in totals.items()]


async def totals(
    board: Board, w: BoardWindow, members: Sequence[int] | None = None
) -> Sequence[Row]:
    """(member id, score, reached ms) of every member on `board` in window `w` (or of
    `members` only)."""
    if board.metric is Metric.POINTS_EARNED:
        return await points_earned(w, members)
    if board.metric is Metric.TIER_POINTS:
        return await tier_points(w, members)
    assert board.action_type is not None
    if board.metric is Metric.ACTION_COUNT:
        return await action_count(board.action_type, w, members)
    return await action_value(board.action_type, w, members)
