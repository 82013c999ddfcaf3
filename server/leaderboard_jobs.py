"""Leaderboards in the composition root: `loyalty rebuild-leaderboards`, the catch-up job,
the reconciliation job, and the startup check that rebuilds the boards when Redis came back
empty.

The reconciliation (game/leaderboards/reconcile.py) runs in the process holding the jobs
lease: at once when it starts (its first round), then every RECONCILE_EVERY seconds across
processes (a Redis key that expires says when it is due; a Redis lock, renewed as the round
goes on, keeps two processes from reconciling at once). In a serving process the round is
paced (reconcile.SERVING_PACE): it leaves most of the process's time to requests."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from core import redis, sql
from core.settings import Settings
from game.leaderboards import definitions, rebuild, reconcile, store
from game.leaderboards.reconcile import ReconcileReport
from server.progress import Progress

log = logging.getLogger("loyalty.leaderboards")

_redis_was_down = False


async def rebuild_boards(args: argparse.Namespace, settings: Settings) -> int:
    boards = await definitions.all_boards()
    reports = []
    with Progress("rebuilding leaderboards", total=len(boards), unit="board") as progress:
        for board in boards:
            reports.append(await rebuild.rebuild(only=[board]))
            progress.advance()
    windows = sum(r.windows for r in reports)
    standings = sum(r.members for r in reports)
    print(f"rebuilt {len(boards)} board(s): {windows} window(s), {standings} standing(s)")
    return 0


async def startup() -> None:
    """Rebuild when Redis has no boards (first start, or Redis lost its data)."""
    try:
        await store.refresh_zone()
        if await rebuild.ensure_built():
            log.info("leaderboards were missing from Redis and have been rebuilt")
    except store.REDIS_DOWN:
        log.warning("Redis is unreachable at startup; leaderboards rebuild once it is back")


def caught_up(result: str | None) -> str:
    return result or "boards up to date"


async def catch_up() -> str | None:
    """Rebuild after Redis was seen unreachable (updates were lost) or came back empty."""
    global _redis_was_down
    if not await redis.ping():
        _redis_was_down = True
        return "Redis does not answer; the boards are rebuilt once it is back"
    if _redis_was_down:
        _redis_was_down = False
        return str(await rebuild.rebuild())
    return "boards were missing from Redis: rebuilt" if await rebuild.ensure_built() else None


RECONCILE_EVERY = 300  # seconds
_reconciled_here = False
_pace = 0.0  # a worker or `run-jobs`: rounds unpaced; serving() paces them


def serving() -> None:
    """This process serves requests too: pace its rounds of reconciliation."""
    global _pace
    _pace = reconcile.SERVING_PACE


def reconciled(result: ReconcileReport | str | None) -> str:
    return "not due (every 5 min)" if result is None else str(result)


async def reconcile_boards() -> ReconcileReport | str | None:
    """Compare every board's current windows with the database and repair drift: first
    when this process starts running jobs, then every RECONCILE_EVERY seconds.

    In a serving process the (paced, so long) round runs beside the jobs loop, not in it:
    the jobs after it (messages, campaigns, webhooks) do not wait for it. Its report is
    logged when it ends."""
    global _round
    if _round is not None and not _round.done():
        return "a round is still running beside the requests"
    try:
        due = await store.due("reconcile", RECONCILE_EVERY)
    except store.REDIS_DOWN:
        return _REDIS_DOWN
    if _reconciled_here and not due:
        return None
    if _pace:
        _round = sql.spawn(_locked_round(), name="leaderboards-reconcile")
        return "a round started beside the requests; its report is logged when it ends"
    return await _locked_round()


_REDIS_DOWN = "Redis does not answer; the boards are reconciled once it is back"
_round: asyncio.Task[ReconcileReport | str] | None = None


async def _locked_round() -> ReconcileReport | str:
    global _reconciled_here
    try:
        if not await store.try_lock("reconcile", reconcile.LOCK_MS):
            return "another process is reconciling the boards"
        try:
            chunk = reconcile.SERVING_CHUNK if _pace else reconcile.CHUNK
            report = await reconcile.reconcile(pace=_pace, chunk=chunk, lock="reconcile")
        finally:
            await store.unlock("reconcile")
    except store.REDIS_DOWN:
        return _REDIS_DOWN
    _reconciled_here = True
    return report


async def round_in_background() -> ReconcileReport | str | None:
    """The round running beside the requests, once it ends (None: none was started)."""
    return await _round if _round is not None else None


async def stop() -> None:
    """Stop a round running beside the requests (the process is stopping); its lock
    expires, and the next round starts over."""
    if _round is not None and not _round.done():
        _round.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await _round
