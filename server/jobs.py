"""Time-driven work: every scheduled job, listed once here (JOBS), and the loop that runs
them in the lease holder.

Every job is idempotent: running it twice at the same moment changes nothing the second
time, so a crash and a rerun never double an effect. Jobs still run in one process at a
time: `loop()` runs them only while this process holds the jobs lease (server/lease.py),
whichever of the server workers or `loyalty worker` processes that is.

A job is a domain function, or a function of a server/*_jobs.py module when it keeps a
schedule or state of its own; none of them imports this module, which lists them all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from engage import campaigns, deliveries, rfm, webhooks
from rewards import birthdays
from rewards.ledger import jobs as ledger
from rewards.tiers import service as tiers
from server import care_jobs, engage_jobs, leaderboard_jobs
from server.lease import Lease

log = logging.getLogger("loyalty.jobs")


def _plain(result: object) -> str:
    if result is None:
        return "not due"
    if isinstance(result, dict):
        done = [f"{count} {what}" for what, count in result.items() if count]
        return ", ".join(done) or "nothing to do"
    return str(result)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[], Awaitable[object]]
    # The result in words, e.g. "3 members' pending points became available".
    describe: Callable[[Any], str] = _plain


def counted(singular: str, plural: str, nothing: str = "nothing to do") -> Callable[[Any], str]:
    """A describer for jobs returning a count: 'nothing to do', '1 member ...', '3 members ...'."""

    def describe(result: Any) -> str:
        if result is None:
            return "not due"
        if not result:
            return nothing
        return f"{result} {singular if result == 1 else plural}"

    return describe


def _tier_moves(moves: dict[str, int]) -> str:
    words = {
        "upgraded": "moved up",
        "recovered": "back above their tier",
        "grace": "entered grace",
        "demoted": "moved down",
    }
    done = [f"{n} {words.get(what, what)}" for what, n in moves.items() if n]
    return ", ".join(done) or "no member changes tier"


# Every job, in the order each round runs them.
JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job(
            "ledger.mature_pending",
            ledger.mature_pending,
            counted(
                "member's pending points became available",
                "members' pending points became available",
            ),
        ),
        Job(
            "ledger.expire_points",
            ledger.expire_points,
            counted("member had points expire", "members had points expire"),
        ),
        Job("tiers.review", tiers.review_tiers, _tier_moves),
        Job(
            "points.birthdays",
            birthdays.safe_credit_birthdays,
            counted("member got birthday points", "members got birthday points"),
        ),
        Job("leaderboards-catch-up", leaderboard_jobs.catch_up, leaderboard_jobs.caught_up),
        Job(
            "leaderboards-reconcile", leaderboard_jobs.reconcile_boards, leaderboard_jobs.reconciled
        ),
        Job(
            "engage.campaigns",
            campaigns.deliver_due,
            counted("notification delivered", "notifications delivered", "no campaign due"),
        ),
        Job(
            "engage.messages",
            deliveries.flush,
            counted("message sent", "messages sent", "no message due"),
        ),
        Job(
            "engage.webhooks",
            webhooks.flush,
            counted("webhook delivered", "webhooks delivered", "no webhook due"),
        ),
        Job("engage.reminders", engage_jobs.expiry_reminders, engage_jobs.reminders),
        Job(
            "engage.birthdays",
            engage_jobs.birthday_greetings,
            counted("birthday greeting sent", "birthday greetings sent", "no birthday"),
        ),
        Job(
            "engage.rfm",
            rfm.recompute_if_due,
            counted("member scored", "members scored", "no member with orders"),
        ),
        Job("tiers.at_risk", care_jobs.tier_at_risk_notices),
    )
}


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
