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
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

ADMIN = "bench-admin-key"
INTEGRATION = "bench-integration-key"
SECRET = "bench-secret-0123456789abcdef0123456789"
QUERY = """{ leaderboard(key: "points", first: 10) {
  periodKey participants entries { rank score member { id displayName tierCode } }
  me { rank score } aroundMe(radius: 2) { rank score member { id displayName } } } }"""


TOKEN = "mutation($e: String!) { issueMemberToken(memberExternalId: $e) { token } }"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def database(server_url: str | None, tmp: Path) -> AsyncIterator[str]:
    if not server_url:
        yield f"sqlite://{tmp / 'bench.sqlite3'}"
        return
    import asyncpg

    name = f"loyalty_bench_lb_{os.getpid()}_{secrets.token_hex(3)}"
    dsn = server_url.replace("postgres://", "postgresql://", 1)
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    parts = urlsplit(server_url)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))
    finally:
        admin = await asyncpg.connect(dsn)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


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
    ids = sorted(await Member.all().values_list("id", flat=True))
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


def serve(
    data_dir: Path, db_url: str, redis_url: str, prefix: str
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")} | {
        "LOYALTY_ENV": "production",
        "LOYALTY_DATA_DIR": str(data_dir),
        "LOYALTY_SECRET_KEY": SECRET,
        "LOYALTY_ADMIN_KEY": ADMIN,
        "LOYALTY_INTEGRATION_KEY": INTEGRATION,
        "LOYALTY_JOBS_INTERVAL_SECONDS": "0",
        "LOYALTY_DATABASE_URL": db_url,
        "LOYALTY_REDIS_URL": redis_url,
        "LOYALTY_REDIS_PREFIX": prefix,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--no-migrate"],
        cwd=str(data_dir),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(data_dir / "server.log").open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit((data_dir / "server.log").read_text())
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("server did not start")


async def query_latencies(url: str, external_id: str, queries: int, clients: int) -> list[float]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        reply = await client.post(
            "/graphql",
            headers={"Authorization": f"Bearer {INTEGRATION}"},
            json={
                "query": TOKEN,
                "variables": {"e": external_id},
            },
        )
        token = reply.json()["data"]["issueMemberToken"]["token"]
        headers = {"Authorization": f"Bearer {token}"}
        first = (await client.post("/graphql", headers=headers, json={"query": QUERY})).json()
        assert not first.get("errors"), first
        board = first["data"]["leaderboard"]
        print(
            f"  sample: participants={board['participants']} me.rank={board['me']['rank']} "
            f"aroundMe={[e['rank'] for e in board['aroundMe']]}"
        )
        latencies: list[float] = []
        remaining = iter(range(queries))

        async def worker() -> None:
            for _ in remaining:
                started = time.perf_counter()
                body = (
                    await client.post("/graphql", headers=headers, json={"query": QUERY})
                ).json()
                latencies.append(time.perf_counter() - started)
                assert not body.get("errors"), body

        await asyncio.gather(*(worker() for _ in range(clients)))
        return latencies


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


async def main(args: argparse.Namespace) -> None:
    from core import redis
    from core.settings import Settings
    from game.leaderboards import rebuild
    from server import app as server_app
    from server.cli import migrate

    prefix = f"bench-lb-{os.getpid()}-{secrets.token_hex(3)}"
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        async with database(args.database_url, tmp) as db_url:
            settings = Settings(
                env="development",
                data_dir=tmp / "data",
                database_url=db_url,
                redis_url=args.redis_url,
                redis_prefix=prefix,
                admin_key=ADMIN,
                integration_key=INTEGRATION,
                secret_key=SECRET,
                jobs_interval_seconds=0,
            )
            await migrate(settings)
            await server_app.start(settings)
            process = None
            try:
                backend = "PostgreSQL" if db_url.startswith("postgres") else "SQLite"
                cores = os.cpu_count()
                print(f"leaderboards benchmark ({backend}, Redis {args.redis_url}, {cores} cores)")
                started = time.perf_counter()
                ids = await seed(args.rebuild_members)
                seeded = time.perf_counter() - started
                print(f"  seeded {len(ids):,} members with postings in {seeded:.1f}s")
                report = await rebuild.rebuild()
                print(f"  rebuild from the database at {len(ids):,} members: {report}")
                client = redis.client()
                keys = [k async for k in client.scan_iter(match=redis.key("lbz", "*"), count=1000)]
                if keys:
                    await client.unlink(*keys)
                rate = await load(args.members, args.batch)
                print(
                    f"  score updates through the module: {rate:,.0f}/s "
                    f"({args.members:,} members, 4 windows each, "
                    f"{args.batch} per Lua call, pipelined)"
                )
                process, url = serve(tmp, db_url, args.redis_url, prefix)
                external_id = f"bench-{len(ids) // 2}"
                started = time.perf_counter()
                latencies = await query_latencies(url, external_id, args.queries, args.clients)
                elapsed = time.perf_counter() - started
                print(
                    f"  leaderboard(first: 10) + me + aroundMe over HTTP, {args.clients} clients: "
                    f"p50 {pct(latencies, 50):.1f} ms, p99 {pct(latencies, 99):.1f} ms, "
                    f"{len(latencies) / elapsed:,.0f} req/s, "
                    f"mean {statistics.mean(latencies) * 1000:.1f} ms"
                )
            finally:
                if process is not None:
                    process.terminate()
                    process.wait(timeout=15)
                client = redis.client()
                keys = [k async for k in client.scan_iter(match=redis.key("*"), count=5000)]
                for start in range(0, len(keys), 5000):
                    await client.unlink(*keys[start : start + 5000])
                await server_app.stop()


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
