"""Time-driven work, run in-process by `loyalty serve` on an interval.

Every job is idempotent: running it twice at the same moment changes nothing the second
time, so several processes (or a crash and a rerun) never double an effect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("loyalty.jobs")

Job = Callable[[], Awaitable[object]]
JOBS: dict[str, Job] = {}


def job(name: str) -> Callable[[Job], Job]:
    def register(fn: Job) -> Job:
        JOBS[name] = fn
        return fn

    return register


async def run_all() -> dict[str, object]:
    results: dict[str, object] = {}
    for name, fn in JOBS.items():
        try:
            results[name] = await fn()
        except Exception:
            log.exception("job %s failed", name)
    return results


async def loop(interval: float) -> None:
    while True:
        await run_all()
        await asyncio.sleep(interval)
