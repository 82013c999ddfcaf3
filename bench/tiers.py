"""Benchmark: the tier review job and the tier fields' DataLoader over many members.

In-process on a fresh migrated database. Enrols --members members, gives a third of them
Silver and a third Gold, then times: the review run that finds nothing to do (what
`loyalty serve` pays every 30 seconds), the run a year later that starts everyone's grace
period, the run that demotes them when it ends, and one DataLoader batch of 100 members'
tier fields (what a members list costs).

    python -m bench.tiers                        # SQLite + embedded Redis
    LOYALTY_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    LOYALTY_BENCH_REDIS_URL=redis://127.0.0.1:6379/0 python -m bench.tiers
Options: --members N (default 3000).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench import common
from core import clock

T0 = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)


async def timed(fn: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = await fn()
    return time.perf_counter() - start, result


async def main(args: argparse.Namespace) -> None:
    from members import service
    from rewards import enrolment
    from rewards.tiers import service as tiers

    common.print_machine()
    async with common.services("tiers"):
        clock.freeze(T0)
        for code, name, threshold, multiplier in [
            ("MEMBER", "Member", 0, "1"),
            ("SILVER", "Silver", 100, "1"),
            ("GOLD", "Gold", 300, "1.5"),
        ]:
            await tiers.upsert_tier(
                tiers.TierData(code, name, threshold, earn_multiplier=Decimal(multiplier))
            )
        ids = []
        for n in range(args.members):
            member = await enrolment.enroll(
                service.Enrolment(external_id=f"bench-tier-{n}", display_name=f"Member {n}")
            )
            ids.append(member.id)
            points = (0, 150, 400)[n % 3]
            if points:
                await tiers.add_tier_points(member.id, points, T0, f"bench:{n}")
        holders = sum(1 for n in range(args.members) if n % 3)

        idle, _ = await timed(tiers.review_tiers)
        clock.advance(timedelta(days=366))
        grace, grace_counts = await timed(tiers.review_tiers)
        clock.advance(timedelta(days=31))
        demote, demote_counts = await timed(tiers.review_tiers)
        settled, _ = await timed(tiers.review_tiers)

        batches = []
        for i in range(20):
            chunk = ids[(i * 100) % len(ids) :][:100]
            seconds, _ = await timed(functools.partial(tiers.statuses, chunk))
            batches.append(seconds)

    backend = "PostgreSQL" if common.bench_database_url() else "SQLite"
    print(f"tier review, {backend}, {args.members} members ({holders} above the start tier)")
    print(f"  nothing to do:        {idle * 1000:8.1f} ms")
    print(f"  a year later (grace): {grace * 1000:8.1f} ms  {grace_counts}")
    print(f"  grace over (demote):  {demote * 1000:8.1f} ms  {demote_counts}")
    print(f"  after demotions:      {settled * 1000:8.1f} ms")
    print(
        f"tier fields of 100 members (one DataLoader batch): "
        f"median {statistics.median(batches) * 1000:.1f} ms over {len(batches)} batches"
    )
    print(f"cores: {os.cpu_count()}")
    common.print_load_after()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=3000)
    asyncio.run(main(parser.parse_args()))
