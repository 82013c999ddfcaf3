"""Benchmark: `analytics(from, to)` at 100,000 members and 1,000,000 ledger postings.

PostgreSQL only (the data is made with INSERT ... SELECT generate_series straight into
the ledger's, orders', actions' and members' tables, in seconds). Prints how long the data
took, the RFM scoring over every member, one rule segment's memberCount, and the p50/p99
of analytics() over `--runs` calls on 7, 30 and 90 day ranges.

    LOYALTY_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    LOYALTY_BENCH_REDIS_URL=redis://127.0.0.1:6379/0 python -m bench.analytics
Options: --members (100000) --postings (1000000) --orders (300000) --actions (200000)
         --nps (20000) --runs (60).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import timedelta
from typing import Any

from bench import common

DATA = [
    (
        "members",
        """INSERT INTO member (external_id, display_name, birthday, tags, enrolled_at,
                               referral_code, leaderboard_hidden)
           SELECT 'bench-' || g, 'Member ' || g, DATE '1960-01-01' + (g * 7919 % 16000)::int,
                  CASE WHEN g % 10 = 0 THEN '["vip"]'::jsonb
                       ELSE '[]'::jsonb END,
                  now() - make_interval(days => (g % 730)::int),
                  upper(lpad(to_hex(g), 8, '0')), false
           FROM generate_series(1::bigint, {members}) g""",
    ),
    (
        "accounts",
        """INSERT INTO ledger_account (key, kind, member_id, balance)
           SELECT 'm:' || id || ':available', 'AVAILABLE', id, 0 FROM member""",
    ),
    (
        "postings",
        """INSERT INTO ledger_posting (debit_account_id, credit_account_id, amount, reason,
                                       member_id, delta, earned, internal, created_at)
           SELECT CASE WHEN spend THEN 'm:' || m || ':available' ELSE 'issuance' END,
                  CASE WHEN spend THEN 'redeemed' ELSE 'm:' || m || ':available' END,
                  pts, CASE WHEN spend THEN 'REDEMPTION' ELSE 'ORDER' END,
                  m, CASE WHEN spend THEN -pts ELSE pts END, CASE WHEN spend THEN 0 ELSE pts END,
                  false, now() - make_interval(secs => g * 7919 % 31536000)
           FROM (SELECT g, 1 + (g * 7919) % {members} AS m, 10 + g % 90 AS pts,
                        g % 5 = 0 AS spend
                 FROM generate_series(1::bigint, {postings}) g) s""",
    ),
    (
        "orders",
        """INSERT INTO orders (order_id, member_id, amount, refunded_amount, status, occurred_at,
                               recorded_at, channel, points_earned, tier_points_earned,
                               referral_points_awarded, points_reversed, tier_points_reversed)
           SELECT 'bench-o-' || g, 1 + (g * 104729) % {members}, 50000 + (g % 40) * 25000, 0,
                  'COMPLETED', now() - make_interval(secs => g * 7919 % 31536000), now(), 'pos',
                  0, 0, 0, 0, 0
           FROM generate_series(1::bigint, {orders}) g""",
    ),
    (
        "actions",
        """INSERT INTO game_action (member_id, action_type, value, occurred_at, day, earned,
                                    points_awarded, idempotency_key, fingerprint, result,
                                    created_at)
           SELECT 1 + (g * 7907) % {members}, 'app.opened', 1, ts, ts::date, false, 0,
                  'bench-' || g, 'x', '{{}}'::jsonb, ts
           FROM (SELECT g, now() - make_interval(secs => g * 104723 % 31536000) AS ts
                 FROM generate_series(1::bigint, {actions}) g) s""",
    ),
    (
        "tiers held",
        """INSERT INTO member_state (member_id, tier_code, lifetime, tier_points, seq)
           SELECT id, CASE WHEN id % 10 = 0 THEN 'GOLD' ELSE 'SILVER' END, 0, 0, 0
           FROM member WHERE id % 10 < 4
           ON CONFLICT (member_id) DO UPDATE SET tier_code = excluded.tier_code""",
    ),
    (
        "nps answers",
        """INSERT INTO nps_response (member_id, score, created_at)
           SELECT 1 + (g * 31) % {members}, g % 11,
                  now() - make_interval(secs => g * 7919 % 7776000)
           FROM generate_series(1::bigint, {nps}) g""",
    ),
    ("analyze", "ANALYZE"),
]


async def _generate(sizes: dict[str, int]) -> None:
    from tortoise import connections

    from engage import sql
    from rewards.ledger import accounts
    from rewards.tiers import service as tiers

    await accounts.ensure_system()
    for code, threshold in (("MEMBER", 0), ("SILVER", 100), ("GOLD", 300)):
        await tiers.upsert_tier(tiers.TierData(code=code, name=code.title(), threshold=threshold))
    conn = connections.get("default")
    for label, statement in DATA:
        started = time.perf_counter()
        await sql.execute(statement.format(**sizes), [], conn)
        print(f"  {label:<12} {time.perf_counter() - started:6.2f} s", flush=True)


async def main(args: argparse.Namespace) -> None:
    if not common.bench_database_url().startswith("postgres"):
        sys.exit("bench.analytics runs on PostgreSQL: set LOYALTY_BENCH_DATABASE_URL")
    from core import clock
    from engage import analytics, rfm
    from members import segments

    sizes = {k: getattr(args, k) for k in ("members", "postings", "orders", "actions", "nps")}
    common.print_machine()
    async with common.services("analytics"):
        print(f"generating {sizes}", flush=True)
        started = time.perf_counter()
        await _generate(sizes)
        print(f"data ready in {time.perf_counter() - started:.1f} s", flush=True)

        started = time.perf_counter()
        scored = await rfm.recompute()
        print(f"rfm.recompute: {scored} members scored in {time.perf_counter() - started:.2f} s")

        segment = await segments.create_segment(
            "bench",
            segments.SegmentRules(birthday_month=6, inactive_days=30, min_lifetime_points=100),
            None,
        )
        started = time.perf_counter()
        count = await segments.count(segment)
        print(
            f"segment memberCount (June, inactive 30 days, 100+ points): {count} in "
            f"{(time.perf_counter() - started) * 1000:.0f} ms"
        )

        samples: list[float] = []
        last: Any = None
        for n in range(args.runs):
            days = (7, 30, 90)[n % 3]
            end = clock.now()
            started = time.perf_counter()
            last = await analytics.compute(end - timedelta(days=days), end)
            samples.append((time.perf_counter() - started) * 1000)
        print(
            f"analytics over {args.runs} calls (7/30/90-day ranges): "
            f"p50 {statistics.median(samples):.0f} ms, "
            f"p99 {common.percentile(samples, 99):.0f} ms, "
            f"max {max(samples):.0f} ms"
        )
        print(
            f"  last (90 days): members {last.members}, active {last.active_members}, "
            f"retention {last.retention_rate}%, issued {last.points_issued}, "
            f"redeemed {last.points_redeemed}, NPS {last.nps.score}"
        )
    common.print_load_after()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--postings", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=300_000)
    parser.add_argument("--actions", type=int, default=200_000)
    parser.add_argument("--nps", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=60)
    asyncio.run(main(parser.parse_args()))
