"""Leaderboards in the composition root: `loyalty rebuild-leaderboards`, the catch-up job and
the startup check that rebuilds the boards when Redis came back empty."""

from __future__ import annotations

import argparse
import logging

from core import redis
from core.settings import Settings
from game.leaderboards import rebuild, store
from server.cli import command
from server.jobs import job

log = logging.getLogger("loyalty.leaderboards")

_redis_was_down = False


@command("rebuild-leaderboards", "recompute every leaderboard from the database, atomically")
async def _rebuild(args: argparse.Namespace, settings: Settings) -> int:
    print(await rebuild.rebuild())
    return 0


async def startup() -> None:
    """Rebuild when Redis has no boards (first start, or Redis lost its data)."""
    try:
        await store.refresh_zone()
        if await rebuild.ensure_built():
            log.info("leaderboards were missing from Redis and have been rebuilt")
    except store.REDIS_DOWN:
        log.warning("Redis is unreachable at startup; leaderboards rebuild once it is back")


@job("leaderboards-catch-up")
async def catch_up() -> str:
    """Rebuild after Redis was seen unreachable (updates were lost) or came back empty."""
    global _redis_was_down
    if not await redis.ping():
        _redis_was_down = True
        return "redis down"
    if _redis_was_down:
        _redis_was_down = False
        return str(await rebuild.rebuild())
    return "rebuilt" if await rebuild.ensure_built() else "ok"
