"""Benchmark: orders recorded through the real GraphQL endpoint over HTTP.

Starts `loyalty serve` as a subprocess on a fresh database, enrols members, then several
concurrent clients record orders (each one a full recordOrder: order row, points posting,
lot, tier points, events). Prints orders per second and p50/p99 latency, and checks that
ledgerAudit still balances afterwards.

    python -m bench.ledger                       # SQLite + embedded Redis (the default run)
    LOYALTY_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    LOYALTY_BENCH_REDIS_URL=redis://127.0.0.1:6379/0 python -m bench.ledger
                                                 # PostgreSQL (a database is created and dropped)
Options: --orders N (default 2000), --clients N (8), --members N (200).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bench import common

RECORD = """mutation($i: RecordOrderInput!) { recordOrder(input: $i) {
  pointsEarned duplicate errors { code message } } }"""


async def _run(url: str, orders: int, clients: int, members: int) -> dict[str, Any]:
    async with common.http_client(url, clients) as client:
        await common.enrol_members(client, members)

        async def record(n: int) -> Any:
            order = {
                "orderId": f"bench-order-{n}",
                "memberExternalId": f"bench-{n % members}",
                "amount": str(100_000 + (n * 7919) % 2_000_000),
            }
            return await common.gql(client, RECORD, {"i": order})

        load = await common.run_load(record, clients=clients, count=orders)
        audit = await common.gql(
            client, "{ ledgerAudit { balanced pointsOutstanding } }", {}, common.ADMIN
        )
    failures = [r["recordOrder"]["errors"] for r in load.results if r["recordOrder"]["errors"]]
    return {"load": load, "failures": failures, "audit": audit["ledgerAudit"]}


async def main(args: argparse.Namespace) -> None:
    common.print_machine()
    async with common.fresh_server("ledger") as server:
        result = await _run(server.url, args.orders, args.clients, args.members)
    load = result["load"]
    print(
        f"ledger: recordOrder over HTTP, {common.backend(server.db_url)}, {args.clients} clients, "
        f"{args.orders} orders in {load.elapsed:.1f}s"
    )
    print(f"  orders/s: {load.per_second:.0f}")
    print(load.line())
    print(f"  errors: {len(result['failures'])}   ledgerAudit: {result['audit']}")
    common.print_load_after()
    if result["failures"] or not result["audit"]["balanced"]:
        print(f"  first failure: {result['failures'][:1]}")
        sys.exit(1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--members", type=int, default=200)
    asyncio.run(main(parser.parse_args()))
