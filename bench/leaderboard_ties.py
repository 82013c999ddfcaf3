"""How a board's encoding costs at a million members: memory, score updates, reads.

Starts a redis-server of its own on a free port (so `used_memory` is this board's alone)
and, through the leaderboard module's own functions only (store.load_temp / swap_in,
store.queue_update, store.read), so the same script measures any version of the encoding:

1. memory: MEMBERS standings loaded into one window (ALL_TIME); bytes per member from
   INFO memory before and after.
2. updates: UPDATES score changes of random members on top of that board, each touching
   the ALL_TIME, DAILY, WEEKLY and MONTHLY windows, BATCH per Lua call, pipelined.
3. reads: `read(first=10, me, radius=2)` (one script call: top 10, the member's rank and
   the five around them) for random members, one at a time: p50 / p99 latency; then
   CLIENTS at once: reads per second.

    .venv/bin/python -m bench.leaderboard_ties [--members 1000000] [--updates 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import common


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _used(client: object) -> int:
    info = await client.info("memory")  # type: ignore[attr-defined]
    return int(info["used_memory"])


async def main(args: argparse.Namespace, url: str, folder: str) -> None:
    from core import redis
    from core.settings import Settings
    from game.leaderboards import store
    from game.leaderboards.definitions import BUILTIN
    from game.leaderboards.store import Change
    from game.leaderboards.windows import windows_at

    common.print_machine()
    print(f"leaderboard encoding ({Path(store.__file__).parent})")
    redis.configure(Settings(redis_url=url, redis_prefix="ties", data_dir=Path(folder)))
    client = redis.client()
    zone = store.DEFAULT_ZONE
    store._zone = (zone, time.monotonic() + 10**9)  # never refreshed: no database here
    now = datetime(2026, 11, 16, 5, tzinfo=UTC)
    windows = windows_at(now, zone)
    rng = random.Random(7)
    n = args.members

    # 1. memory of one window of n members
    base = await _used(client)
    started = time.perf_counter()
    rows = ((m, rng.randint(0, 5_000_000), rng.randint(0, 2**31 - 1)) for m in range(1, n + 1))
    await store.load_temp("bench", BUILTIN.key, "all", rows)
    await store.swap_in("bench", [BUILTIN], windows[:1], {(BUILTIN.key, "all")}, [BUILTIN])
    loaded = time.perf_counter() - started
    per_member = (await _used(client) - base) / n
    print(f"  memory: {per_member:,.1f} bytes per member ({n:,} members, one window), "
          f"loaded in {loaded:.1f}s")  # fmt: skip

    # 2. updates on top of it, four windows each
    started = time.perf_counter()
    pipe = client.pipeline(transaction=False)
    for start in range(0, args.updates, args.batch):
        changes = [
            Change(
                "P",
                rng.randint(1, n),
                delta=rng.randint(1, 1000),
                at=now + timedelta(milliseconds=rng.randint(0, 3_600_000)),
            )
            for _ in range(min(args.batch, args.updates - start))
        ]
        store.queue_update(pipe, changes)
        if len(pipe) >= 8:
            await pipe.execute()
    if len(pipe):
        await pipe.execute()
    rate = args.updates / (time.perf_counter() - started)
    print(f"  updates: {rate:,.0f} score changes/s ({args.updates:,}, 4 windows each, "
          f"{args.batch} per Lua call, pipelined)")  # fmt: skip

    # 3. reads
    latencies = []
    for _ in range(args.reads):
        member = rng.randint(1, n)
        asked = time.perf_counter()
        part = await store.read(BUILTIN.key, "all", 10, member, 2)
        latencies.append((time.perf_counter() - asked) * 1000)
        assert part.me is not None and len(part.top) == 10
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[int(0.99 * len(latencies))]
    print(f"  reads, one at a time: p50 {p50:.3f} ms, p99 {p99:.3f} ms ({args.reads:,})")

    async def reader(count: int) -> None:
        for _ in range(count):
            await store.read(BUILTIN.key, "all", 10, rng.randint(1, n), 2)

    started = time.perf_counter()
    each = args.reads // args.clients
    await asyncio.gather(*(reader(each) for _ in range(args.clients)))
    per_second = each * args.clients / (time.perf_counter() - started)
    print(f"  reads, {args.clients} at once: {per_second:,.0f}/s")
    await redis.close()
    common.print_load_after()


def run(args: argparse.Namespace) -> None:
    port = _free_port()
    folder = tempfile.mkdtemp(prefix="lbties-")
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", folder],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(0.5)
        asyncio.run(main(args, f"redis://127.0.0.1:{port}/0", folder))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--updates", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--reads", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=8)
    run(parser.parse_args())
