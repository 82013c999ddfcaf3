"""Time-driven work: the job registry, and the loop that runs it in the lease holder.

Every job is idempotent: running it twice at the same moment changes nothing the second
time, so a crash and a rerun never double an effect. Jobs still run in one process at a
time: `loop()` runs them only while this process holds the jobs lease (server/lease.py),
whichever of the server workers or `loyalty worker` processes that is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from server.lease import Lease

log = logging.getLogger("loyalty.jobs")


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[], Awaitable[object]]
    # The result in words, e.g. "3 members' pending points became available".
    describe: Callable[[Any], str]


JOBS: dict[str, Job] = {}


def _plain(result: object) -> str:
    if result is None:
        return "not due"
    if isinstance(result, dict):
        done = [f"{count} {what}" for what, count in result.items() if count]
        return ", ".join(done) or "nothing to do"
    return str(result)


def job(
    name: str, describe: Callable[[Any], str] | None = None
) -> Callable[[Callable[[], Awaitable[object]]], Callable[[], Awaitable[object]]]:
    """Register a job; `describe` says its result in words (default: the result plainly)."""

    def register(fn: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[object]]:
        JOBS[name] = Job(name, fn, describe or _plain)
        return fn

    return register


def counted(singular: str, plural: str, nothing: str = "nothing to do") -> Callable[[Any], str]:
    """A describer for jobs returning a count: 'nothing to do', '1 member ...', '3 members ...'."""

    def describe(result: Any) -> str:
        if result is None:
            return "not due"
        if not result:
            return nothing
        return f"{result} {singular if result == 1 else plural}"

    return describe


async def run_all() -> dict[str, object]:
    """Run every job once; a failing job is logged and the others still run."""
    results: dict[str, object] = {}
    for name, entry in JOBS.items():
        try:
            results[name] = await entry.run()
        except Exception:
            log.exception("job %s failed", name)
    return results


def summary(results: dict[str, object]) -> list[str]:
    """One line per job that ran, in words; failed jobs say so."""
    return [
        f"{name}: {entry.describe(results[name]) if name in results else 'failed (see the log)'}"
        for name, entry in JOBS.items()
    ]


def _did_something(result: object) -> bool:
    if isinstance(result, dict):
        return any(result.values())
    return bool(result)


async def loop(interval: float, lease: Lease) -> None:
    """Run the jobs every `interval` seconds whenever this process holds the lease.

    A process that does not hold it asks again every interval, so when the holder stops,
    another one takes over within an interval. Cancelling the loop releases the lease.
    """
    held = False
    try:
        while True:
            now_held = await lease.hold()
            if now_held and not held:
                log.info(
                    "this process (%s) holds the jobs lease and runs the scheduled jobs every %g s",
                    lease.name,
                    interval,
                )
            held = now_held
            if held:
                results = await run_all()
                for name, entry in JOBS.items():
                    # Only what did something: a quiet program logs nothing every interval.
                    if _did_something(results.get(name)):
                        log.info("%s: %s", name, entry.describe(results[name]))
            await asyncio.sleep(interval)
    finally:
        await lease.release()
