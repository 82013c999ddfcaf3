"""In-process background work that must not hold up the request that caused it.

`kick(name, fn)` runs `fn` in a task; a kick while the same name is running makes it run
once more afterwards (never two at once in a process). Work kicked here is also done by
a scheduled job, so a task lost with its process is picked up later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from core import sql

log = logging.getLogger("loyalty.background")

_running: dict[str, asyncio.Task[None]] = {}
_again: set[str] = set()


def kick(name: str, fn: Callable[[], Awaitable[object]]) -> None:
    task = _running.get(name)
    if task is not None and not task.done():
        _again.add(name)
        return
    _running[name] = sql.spawn(_run(name, fn), name=name)


async def _run(name: str, fn: Callable[[], Awaitable[object]]) -> None:
    while True:
        _again.discard(name)
        try:
            await fn()
        except Exception:
            log.exception("background %s failed; the scheduled job retries it", name)
        if name not in _again:
            return


async def drain() -> None:
    """Wait until no background work is left (tests; a graceful stop)."""
    while pending := [t for t in _running.values() if not t.done()]:
        await asyncio.gather(*pending, return_exceptions=True)


async def cancel_all() -> None:
    tasks = [t for t in _running.values() if not t.done()]
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    _running.clear()
    _again.clear()
