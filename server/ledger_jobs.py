"""Registers the ledger's jobs: pending points becoming available, and expiry."""

from __future__ import annotations

from rewards.ledger import jobs as ledger_jobs
from server.jobs import counted, job


@job(
    "ledger.mature_pending",
    counted("member's pending points became available", "members' pending points became available"),
)
async def mature_pending() -> int:
    return await ledger_jobs.mature_pending()


@job("ledger.expire_points", counted("member had points expire", "members had points expire"))
async def expire_points() -> int:
    return await ledger_jobs.expire_points()
