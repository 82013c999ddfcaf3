"""Exact rebuild: every board's current windows recomputed from the database and swapped in.

Scores go into temporary keys first and replace the live ones in one MULTI (RENAME), so a
reader sees the old board or the new one, never a half-built one (every key shares the
leaderboards' hash tag, so the MULTI runs on Redis Cluster too). Closed windows are left to
expire: nothing reads them. A write that commits while a rebuild runs may be missed by it
(between its read and its swap), or counted twice (read here, then relayed on top); the
reconciliation job (reconcile.py) repairs both once the write's outbox row is applied.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from core import clock, ids
from game.leaderboards import definitions, sources, store
from game.leaderboards.definitions import Board
from game.leaderboards.windows import windows_at

log = logging.getLogger(__name__)


@dataclass
class RebuildReport:
    boards: int
    windows: int
    members: int
    seconds: float

    def __str__(self) -> str:
        return (
            f"rebuilt {self.boards} board(s), {self.windows} window(s), "
            f"{self.members} standing(s) in {self.seconds:.2f}s"
        )


async def rebuild(only: list[Board] | None = None) -> RebuildReport:
    """Recompute `only` these boards (default: all) and swap them in atomically."""
    started = time.perf_counter()
    zone = await store.refresh_zone()
    every = await definitions.all_boards()
    boards = only if only is not None else every
    windows = windows_at(clock.now(), zone)
    run = ids.token(6)
    filled: set[tuple[str, str]] = set()
    standings = 0
    try:
        for board in boards:
            for w in windows:
                rows = await sources.totals(board, w)
                if rows:
                    standings += await store.load_temp(run, board.key, w.key, rows)
                    filled.add((board.key, w.key))
        # The defs mirror always lists every board, even when only some were rebuilt.
        await store.swap_in(run, boards, windows, filled, every)
    finally:
        await store.drop_temp(run)
    await store.mark_dirty(boards)
    report = RebuildReport(len(boards), len(boards) * len(windows), standings, 0.0)
    report.seconds = time.perf_counter() - started
    log.info("leaderboards: %s", report)
    return report


async def ensure_built() -> bool:
    """Rebuild when Redis has no boards (it came back empty); True if it rebuilt."""
    if await store.is_built():
        return False
    if not await store.try_lock("rebuild", 60_000):
        return False  # another process is rebuilding right now
    await rebuild()
    legacy = await store.drop_legacy()
    if legacy:
        log.info("leaderboards: deleted %d key(s) of the layout before hash tags", legacy)
    return True


async def upsert_and_build(board: Board) -> Board:
    """Save a board; one whose metric is new or changed is built from history at once.

    The database row is what counts: if Redis is down the board is still saved, and the
    next rebuild (startup, the job, or the command) fills it.
    """
    board, changed = await definitions.upsert(board)
    try:
        if changed:
            await rebuild([board])
        else:
            await store.mirror_definition(board)
    except store.REDIS_DOWN:
        log.warning("leaderboard %s saved; Redis is down, a rebuild will fill it", board.key)
    return board
