"""One round of the leaderboards' reconciliation on a large board: time, CPU and memory.

Builds the hot-path benchmark's board (bench/fixtures.py: N members with one ORDER posting
each, then the service's own `loyalty rebuild-leaderboards`), then runs the reconciliation
the way the jobs do, as `loyalty run-jobs` (one unpaced round, as `loyalty worker` runs it),
each time in a fresh process whose CPU (user + system) and peak memory are read from
getrusage:

1. on the board as rebuilt (Redis equals the database: nothing to repair);
2. after drift made by hand in Redis: LOST standings removed from the ALL_TIME sorted set
   (as if their writes never arrived) and STRAY entries that are no member's added; the
   round must repair exactly those.

Uses PostgreSQL (--database-url, a fresh database dropped afterwards) and the Redis at
--redis-url under a unique key prefix (its keys deleted afterwards).

    .venv/bin/python -m bench.reconcile [--members 1000000] [--lost 1000] [--stray 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import common
from bench.fixtures import Board, build_board
from bench.servers import log, loyalty

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"

# Runs one command and prints its output, then its children's CPU seconds and peak RSS.
_MEASURED = """
import json, resource, subprocess, sys, time
began = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - began
used = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": done.returncode, "out": done.stdout + done.stderr, "wall": wall,
                  "cpu": used.ru_utime + used.ru_stime, "rss_mib": used.ru_maxrss / 1024}))
"""


def measured_run_jobs(env: dict[str, str], cwd: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, *loyalty("run-jobs")],
        env=env,
        cwd=str(cwd),
        capture_output=True,
        text=True,
        timeout=3600,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        raise RuntimeError(f"loyalty run-jobs failed:\n{result['out']}")
    return result


def reconcile_line(output: object) -> str:
    lines = [line for line in str(output).splitlines() if "reconcil" in line.lower()]
    return lines[-1].strip() if lines else "(no reconciliation line)"


async def drift(redis_url: str, prefix: str, lost: int, stray: int) -> str:
    """Remove `lost` standings from the largest sorted set, add `stray` entries no member
    has; the name of the set."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        largest, size = "", -1
        for pattern in (f"{prefix}:*", "{" + f"{prefix}:*"):  # core.redis.key / tagged
            async for key in client.scan_iter(match=pattern, count=1000):
                if await client.type(key) == "zset":
                    n = await client.zcard(key)
                    if n > size:
                        largest, size = key, n
        removed = await client.zpopmin(largest, lost)
        assert len(removed) == lost, f"{largest} held {size} entries"
        await client.zadd(largest, {f"stray-{n}": 1.0 + n for n in range(stray)})
        return f"{largest} ({size:,} entries)"
    finally:
        await client.aclose()


def describe(label: str, result: dict[str, object]) -> str:
    return (
        f"| {label} | {result['wall']:.1f} | {result['cpu']:.1f} | {result['rss_mib']:.0f} | "
        f"{reconcile_line(result['out'])} |"
    )


async def main(args: argparse.Namespace) -> int:
    print(common.machine())
    prefix = f"bench-reconcile-{secrets.token_hex(3)}"
    with tempfile.TemporaryDirectory(prefix="bench-reconcile-") as tmp_name:
        tmp = Path(tmp_name)
        async with common.database(tmp, "reconcile", args.database_url) as db_url:
            env = common.service_env(
                tmp, db_url, redis_url=args.redis_url, prefix=prefix, production=True
            )
            board = Board(db_url=db_url, prefix=prefix, members=args.members)
            try:
                await build_board(board, env, tmp)
                rows = [
                    "| round | wall s | CPU s | peak MiB | the job's report |",
                    "|---|---:|---:|---:|---|",
                ]
                log("round on the board as rebuilt")
                rows.append(describe("as rebuilt", measured_run_jobs(env, tmp)))
                where = await drift(args.redis_url, prefix, args.lost, args.stray)
                log(f"drift: {args.lost} standings removed from {where}, {args.stray} strays added")
                # The round is due again only RECONCILE_EVERY after the last: a new process's
                # first round runs at once.
                rows.append(describe("after drift", measured_run_jobs(env, tmp)))
                rows.append(describe("after the repair", measured_run_jobs(env, tmp)))
            finally:
                await common.delete_redis_keys(args.redis_url, prefix)
    print(
        f"\nReconciliation of a {args.members:,}-member board (`loyalty run-jobs`: every job "
        "once, the reconciliation an unpaced round), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n"
    )
    print("\n".join(rows))
    print(f"\ndrift: {args.lost} standings removed, {args.stray} strays added, in {where}")
    return 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--lost", type=int, default=1000)
    parser.add_argument("--stray", type=int, default=100)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("LOYALTY_BENCH_DATABASE_URL") or DEFAULT_DATABASE,
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("LOYALTY_BENCH_REDIS_URL") or DEFAULT_REDIS
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
