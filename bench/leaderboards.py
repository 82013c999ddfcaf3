"""Leaderboards at scale: bulk score updates, reads through GraphQL, rebuild from the database.

1. Seeds REBUILD_MEMBERS members with earned-points postings (bulk inserted, spread over the
   last 60 days) and times `rebuild()` of every board and window from the database.
2. Loads MEMBERS members into the `points` board through the leaderboard module
   (store.queue_update: BATCH changes per Lua call, pipelined), each change touching the
   ALL_TIME, DAILY, WEEKLY and MONTHLY windows, and prints score updates per second.
3. Starts `loyalty serve` on the same database and Redis and has CLIENTS concurrent clients
   ask `leaderboard(first: 10)` with `me` and `aroundMe(radius: 2)` by member token over
   HTTP; prints p50/p99 latency.

Uses the Redis at --redis-url (default 127.0.0.1:6379) under a unique key prefix and deletes
its keys afterwards; the database is a temporary SQLite file, or a fresh database created
on the PostgreSQL server given by --database-url and dropped afterwards.

    .venv/bin/python -m bench.leaderboards [--members 1000000] [--rebuild-members 100000]
        [--queries 2000] [--clients 8] [--database-url postgres://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from datetime import timedelta
from typing import cast

import httpx

from bench import common

QUERY = """{ leaderboard(key: "points", first: 10) {
  periodKey participants entries { rank score member { id displayName tierCode } }
  me { rank score } aroundMe(radius: 2) { rank score member { id displayName } } } }"""


async def seed(n: int) -> list[int]:
    """n members, each with a few earned-points postings over the last 60 days."""
    from core import clock
    from members.models import Member
    from rewards.ledger import accounts
    from rewards.ledger.models import Account, AccountKind, Posting

    now = clock.now()
    await accounts.ensure_system()
    chunk = 5000
    for start in range(0, n, chunk):
        await Member.bulk_create(
            [
                Member(
                    external_id=f"bench-{i}",
                    display_name=f"Bench Member {i}",
                    enrolled_at=now,
                    referral_code=f"B{i:07d}",
                )
                for i in range(start, min(start + chunk, n))
            ]
        )
    ids: list[int] = sorted(cast(list[int], await Member.all().values_list("id", flat=True)))
    rng = random.Random(1)
    issued = 0
    for start in range(0, len(ids), chunk):
        batch = ids[start : start + chunk]
        postings, balances = [], {}
        for member_id in batch:
            total = 0
            for _ in range(rng.randint(1, 3)):
                points = rng.randint(1, 2000)
                total += points
                postings.append(
                    Posting(
                        debit_account_id=accounts.ISSUANCE,
                        credit_account_id=accounts.available(member_id),
                        amount=points,
                        reason="ORDER",
                        member_id=member_id,
                        delta=points,
                        earned=points,
                        created_at=now - timedelta(seconds=rng.randint(0, 60 * 86400)),
                    )
                )
            balances[member_id] = total
            issued += total
        await Account.bulk_create(
            [
                Account(
                    key=accounts.available(m),
                    kind=AccountKind.AVAILABLE.value,
                    member_id=m,
                    balance=b,
                )
                for m, b in balances.items()
            ]
        )
        await Posting.bulk_create(postings)
    issuance = await Account.get(key=accounts.ISSUANCE)
    await Account.filter(key=accounts.ISSUANCE).update(balance=issuance.balance - issued)
    return ids


async def load(members: int, batch: int) -> float:
    """Score updates per second through the leaderboard module, pipelined."""
    from core import clock, redis
    from game.leaderboards import store
    from game.leaderboards.store import Change

    rng = random.Random(2)
    client = redis.client()
    now = clock.now()
    started = time.perf_counter()
    pipe = client.pipeline(transaction=False)
    for start in range(1, members + 1, batch):
        changes = [
            Change("P", m, delta=rng.randint(1, 100_000), at=now + timedelta(seconds=m % 600))
            for m in range(start, min(start + batch, members + 1))
        ]
        store.queue_update(pipe, changes)
        if len(pipe) >= 8:
            await pipe.execute()
    if len(pipe):
        await pipe.execute()
    return members / (time.perf_counter() - started)


async def query_latencies(
    url: str, external_id: str, queries: int, clients: int
) -> common.Load[httpx.Response]:
    async with common.http_client(url, clients, timeout=30) as client:
        token = await common.member_token(client, external_id)
        headers = {"Authorization": f"Bearer {token}"}
        first = (await client.post("/graphql", headers=headers, json={"query": QUERY})).json()
        assert not first.get("errors"), first
        board = first["data"]["leaderboard"]
        print(
            f"  sample: participants={board['participants']} me.rank={board['me']['rank']} "
            f"aroundMe={[e['rank'] for e in board['aroundMe']]}"
        )

        async def ask(_: int) -> httpx.Response:
            return await client.post("/graphql", headers=headers, json={"query": QUERY})

        load = await common.run_load(ask, clients=clients, count=queries)
    for response in load.results:
        body = response.json()
        assert not body.get("errors"), body
    return load


async def main(args: argparse.Namespace) -> None:
    from game.leaderboards import rebuild

    common.print_machine()
    prefix = common.new_prefix("lb")
    async with common.services("lb", args.database_url or "", args.redis_url, prefix) as settings:
        db_url = settings.database_url
        print(
            f"leaderboards benchmark ({common.backend(db_url)}, Redis {args.redis_url}, "
            f"{os.cpu_count()} cores)"
        )
        started = time.perf_counter()
        ids = await seed(args.rebuild_members)
        seeded = time.perf_counter() - started
        print(f"  seeded {len(ids):,} members with postings in {seeded:.1f}s")
        report = await rebuild.rebuild()
        print(f"  rebuild from the database at {len(ids):,} members: {report}")
        for kind in ("z", "h"):  # the rebuilt scores, not the defs or the built mark
            await common.delete_redis_keys(args.redis_url, "{" + f"{prefix}:lb}}:{kind}")
        rate = await load(args.members, args.batch)
        print(
            f"  score updates through the module: {rate:,.0f}/s "
            f"({args.members:,} members, 4 windows each, "
            f"{args.batch} per Lua call, pipelined)"
        )
        async with common.running_server(
            settings.data_dir,
            db_url,
            redis_url=args.redis_url,
            prefix=prefix,
            production=True,
            jobs=False,
            migrate=False,
            timeout=120,
            clean_redis=False,  # services() deletes the prefix's keys on the way out
        ) as server:
            external_id = f"bench-{len(ids) // 2}"
            latencies = await query_latencies(server.url, external_id, args.queries, args.clients)
        print(
            f"  leaderboard(first: 10) + me + aroundMe over HTTP, {args.clients} clients: "
            f"p50 {latencies.p50_ms:.1f} ms, p99 {latencies.p99_ms:.1f} ms, "
            f"{latencies.per_second:,.0f} req/s, mean {latencies.mean_ms:.1f} ms"
        )
    common.print_load_after()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--rebuild-members", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--database-url", default=os.environ.get("LOYALTY_BENCH_DATABASE_URL"))
    asyncio.run(main(parser.parse_args()))
