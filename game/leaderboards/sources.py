"""What a rebuild reads: each board's totals per member from the database, the source of truth.

Each query gives (member id, score, reached ms) for one window, where "reached" is the time
of the member's latest row that changed the score, exactly what the live path stores
(scoring.millis of the same timestamps the events carry). `members` narrows a query to some
members (the reconciliation's re-check of one member under their lock); `page` to the first
members by id after a given one (the reconciliation compares a window a page at a time):
- POINTS_EARNED: ledger postings' `earned` (credits +, refund clawbacks -), at created_at.
- TIER_POINTS: tier point entries (earned +, refunded -), at created_at.
- ACTION_COUNT / ACTION_VALUE: tracked actions of the type, at occurred_at (value rounded
  half up per occurrence, as scoring.whole_units does live).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

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
MAX_MEMBER_ID = 2**31 - 1  # member ids are 32-bit signed in the database


class Page(NamedTuple):
    """The first `size` members by id whose id is above `after`."""

    after: int
    size: int


def _instant(value: Any) -> datetime:
    """A MAX() over a datetime column: SQLite hands back text, PostgreSQL a datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _marks() -> Any:
    return (lambda n: f"${n}") if dialect() == "postgres" else (lambda n: "?")


def _within(at: str, where: str, params: list[Any], w: BoardWindow) -> tuple[str, list[Any]]:
    mark = _marks()
    params = list(params)
    if w.start is not None and w.end is not None:
        params += [w.start, w.end]
        where += f" AND {at} >= {mark(len(params) - 1)} AND {at} < {mark(len(params))}"
    return where, params


async def _grouped(
    table: str,
    total: str,
    at: str,
    where: str,
    params: list[Any],
    w: BoardWindow,
    members: Sequence[int] | None,
    page: Page | None = None,
) -> list[Row]:
    """SUM/COUNT and MAX(time) per member in one GROUP BY, in plain SQL: an ORM round trip
    would parse every MAX() through its datetime field, the bulk of a large rebuild. A page
    reads the member_id index from `after` on, in order, and stops after `size` members."""
    conn = connections.get("default")
    where, params = _within(at, where, params, w)
    if members is not None:
        if not members:
            return []
        where += f" AND member_id IN ({', '.join(str(int(m)) for m in members)})"
    order = ""
    if page is not None:
        params.append(page.after)
        where += f" AND member_id > {_marks()(len(params))}"
        order = f" ORDER BY member_id LIMIT {int(page.size)}"
    sql = (
        f"SELECT member_id, {total}, MAX({at}) FROM {table} WHERE {where} GROUP BY member_id"
        + order
    )
    _, rows = await conn.execute_query(sql, params)
    found: list[Row] = []
    async for some in turns.slices(rows):
        found += [
            (int(r[0]), scoring.clamp(int(r[1])), scoring.millis(_instant(r[2]))) for r in some
        ]
    return found


async def points_earned(
    w: BoardWindow, members: Sequence[int] | None = None, page: Page | None = None
) -> list[Row]:
    table = Posting._meta.db_table
    where = "member_id IS NOT NULL AND earned <> 0"
    return await _grouped(table, "SUM(earned)", "created_at", where, [], w, members, page)


async def tier_points(
    w: BoardWindow, members: Sequence[int] | None = None, page: Page | None = None
) -> list[Row]:
    table = TierPointEntry._meta.db_table
    where = "points <> 0"
    return await _grouped(table, "SUM(points)", "created_at", where, [], w, members, page)


def _of_type(paged: bool) -> str:
    """The action type's condition. Paged on SQLite: `+action_type`, which its planner cannot
    answer from an index, so that it reads the member_id index from the page on rather than
    every action of the type for each page (it has no statistics to tell the two apart;
    PostgreSQL has and picks well)."""
    column = "+action_type" if paged and dialect() != "postgres" else "action_type"
    return f"{column} = {_marks()(1)}"


async def action_count(
    action_type: str,
    w: BoardWindow,
    members: Sequence[int] | None = None,
    page: Page | None = None,
) -> list[Row]:
    table = Action._meta.db_table
    where = _of_type(page is not None)
    return await _grouped(table, "COUNT(*)", "occurred_at", where, [action_type], w, members, page)


async def _page_end(action_type: str, w: BoardWindow, page: Page) -> int:
    """The id of the `size`-th member with actions of the type in `w` after `after`
    (MAX_MEMBER_ID if there are fewer)."""
    conn = connections.get("default")
    where, params = _within("occurred_at", _of_type(True), [action_type], w)
    params.append(page.after)
    where += f" AND member_id > {_marks()(len(params))}"
    sql = (
        f"SELECT member_id FROM {Action._meta.db_table} WHERE {where} GROUP BY member_id "
        f"ORDER BY member_id LIMIT 1 OFFSET {int(page.size) - 1}"
    )
    _, rows = await conn.execute_query(sql, params)
    return int(rows[0][0]) if rows else MAX_MEMBER_ID


async def action_value(
    action_type: str,
    w: BoardWindow,
    members: Sequence[int] | None = None,
    between: tuple[int, int] | None = None,
) -> list[Row]:
    """Summed here, each occurrence rounded on its own (scoring.whole_units); `between`: the
    member ids above the first, up to and including the second."""
    conn = connections.get("default")
    mark = _marks()
    where, params = _within("occurred_at", _of_type(between is not None), [action_type], w)
    if members is not None:
        if not members:
            return []
        where += f" AND member_id IN ({', '.join(str(int(m)) for m in members)})"
    if between is not None:
        params += list(between)
        where += f" AND member_id > {mark(len(params) - 1)} AND member_id <= {mark(len(params))}"
    sql = f"SELECT member_id, value, occurred_at FROM {Action._meta.db_table} WHERE {where}"
    _, rows = await conn.execute_query(sql, params)
    decimal = Action._meta.fields_map["value"].to_python_value  # SQLite keeps it as text
    totals: dict[int, list[int]] = {}
    async for some in turns.slices(rows):
        for member_id, value, occurred_at in some:
            units = scoring.whole_units(decimal(value))
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


async def page(board: Board, w: BoardWindow, after: int, size: int) -> tuple[Sequence[Row], int]:
    """The standings on `board` in `w` of at most `size` members, those with the lowest ids
    above `after`; and the id up to which they are every standing (MAX_MEMBER_ID once there
    are no more). Each an indexed range read of the member_id index from `after` on."""
    rows: Sequence[Row]
    if board.metric is Metric.POINTS_EARNED:
        rows = await points_earned(w, page=Page(after, size))
    elif board.metric is Metric.TIER_POINTS:
        rows = await tier_points(w, page=Page(after, size))
    else:
        assert board.action_type is not None
        if board.metric is Metric.ACTION_VALUE:
            # Summed here, not in SQL: first where the page of members with actions ends
            # (some may count nothing: values that round to 0).
            upto = await _page_end(board.action_type, w, Page(after, size))
            return await action_value(board.action_type, w, between=(after, upto)), upto
        rows = await action_count(board.action_type, w, page=Page(after, size))
    return rows, rows[-1][0] if len(rows) == size else MAX_MEMBER_ID
