"""What a rebuild reads: each board's totals per member from the database, the source of truth.

Each query gives (member id, score, seconds reached) for one window, where "reached" is the
time of the member's latest row that changed the score, exactly what the live path stores:
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

from game.leaderboards import scoring
from game.leaderboards.definitions import Board, Metric
from game.leaderboards.windows import Window
from game.models import Action
from rewards.earning_models import TierPointEntry
from rewards.ledger.models import Posting

Row = tuple[int, int, int]


def _instant(value: Any) -> datetime:
    """A MAX() over a datetime column: SQLite hands back text, PostgreSQL a datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _range(field: str, w: Window) -> dict[str, datetime]:
    """ORM filter of rows inside the window (ACTION_VALUE sums in Python)."""
    if w.start is None or w.end is None:
        return {}
    return {f"{field}__gte": w.start, f"{field}__lt": w.end}


async def _grouped(
    table: str, total: str, at: str, where: str, params: list[Any], w: Window
) -> list[Row]:
    """SUM/COUNT and MAX(time) per member in one GROUP BY, in plain SQL: an ORM round trip
    would parse every MAX() through its datetime field, the bulk of a large rebuild."""
    conn = connections.get("default")
    mark = (lambda n: f"${n}") if conn.capabilities.dialect == "postgres" else (lambda n: "?")
    params = list(params)
    if w.start is not None and w.end is not None:
        params += [w.start, w.end]
        where += f" AND {at} >= {mark(len(params) - 1)} AND {at} < {mark(len(params))}"
    sql = f"SELECT member_id, {total}, MAX({at}) FROM {table} WHERE {where} GROUP BY member_id"
    _, rows = await conn.execute_query(sql, params)
    return [(int(r[0]), int(r[1]), scoring.seconds(_instant(r[2]))) for r in rows]


async def points_earned(w: Window) -> list[Row]:
    table = Posting._meta.db_table
    where = "member_id IS NOT NULL AND earned <> 0"
    return await _grouped(table, "SUM(earned)", "created_at", where, [], w)


async def tier_points(w: Window) -> list[Row]:
    table = TierPointEntry._meta.db_table
    return await _grouped(table, "SUM(points)", "created_at", "points <> 0", [], w)


async def action_count(action_type: str, w: Window) -> list[Row]:
    conn = connections.get("default")
    mark = "$1" if conn.capabilities.dialect == "postgres" else "?"
    table = Action._meta.db_table
    where = f"action_type = {mark}"
    return await _grouped(table, "COUNT(*)", "occurred_at", where, [action_type], w)


async def action_value(action_type: str, w: Window) -> list[Row]:
    rows = await Action.filter(action_type=action_type, **_range("occurred_at", w)).values_list(
        "member_id", "value", "occurred_at"
    )
    totals: dict[int, list[int]] = {}
    for member_id, value, occurred_at in rows:
        units = scoring.whole_units(value)
        if units == 0:
            continue
        seconds = scoring.seconds(_instant(occurred_at))
        entry = totals.setdefault(int(member_id), [0, 0])
        entry[0] += units
        entry[1] = max(entry[1], seconds)
    return [(m, s, t) for m, (s, t) in totals.items()]


async def totals(board: Board, w: Window) -> Sequence[Row]:
    if board.metric is Metric.POINTS_EARNED:
        return await points_earned(w)
    if board.metric is Metric.TIER_POINTS:
        return await tier_points(w)
    assert board.action_type is not None
    if board.metric is Metric.ACTION_COUNT:
        return await action_count(board.action_type, w)
    return await action_value(board.action_type, w)
