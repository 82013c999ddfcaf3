"""Small queries through the real server over HTTP, with concurrent clients.

Starts `loyalty serve` (production mode: no access log, as deployed) on a temporary
SQLite file and embedded Redis, or on LOYALTY_DATABASE_URL / LOYALTY_REDIS_URL if set
(or a fresh database on LOYALTY_BENCH_DATABASE_URL, Redis LOYALTY_BENCH_REDIS_URL, as the
other benchmarks), enrols one member, then has CLIENTS concurrent clients send each query
for SECONDS seconds and prints requests/s and latency percentiles.

    .venv/bin/python -m bench.queries [--clients 16] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import httpx

from bench import common

QUERIES = {
    "program (integration key)": ("{ program { name timezone } }", "integration"),
    "me (member token)": ("{ me { id displayName referralCode } }", "member"),
    "viewerRole (no database)": ("{ viewerRole }", "integration"),
}


async def member_token(client: httpx.AsyncClient) -> str:
    await common.gql(
        client,
        'mutation { enrollMember(input: {externalId: "bench-1", '
        'displayName: "Nguyễn Văn Bench"}) { errors { code } } }',
    )
    return await common.member_token(client, "bench-1")


async def measure(url: str, query: str, token: str, clients: int, seconds: float) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    payload = {"query": query}
    async with common.http_client(url, clients, timeout=30) as client:
        for _ in range(clients):  # warm up connections and caches
            await client.post("/graphql", json=payload, headers=headers)

        async def send(_: int) -> httpx.Response:
            return await client.post("/graphql", json=payload, headers=headers)

        load = await common.run_load(send, clients=clients, seconds=seconds)
    errors = sum(1 for r in load.results if r.status_code != 200 or "errors" in r.json())
    print(
        f"  {load.per_second:8.0f} req/s   p50 {load.p50_ms:6.1f} ms   "
        f"p99 {load.p99_ms:6.1f} ms   ({load.count} requests, {errors} errors)"
    )


async def in_process(calls: int = 2000) -> None:
    """GraphQL execution alone, without HTTP or a database: the floor per request."""
    from core.security import Role, Viewer
    from core.settings import Settings
    from gql.context import Context
    from gql.schema import build_schema

    context = Context(settings=Settings(), viewer=Viewer(role=Role.INTEGRATION))
    for production in (False, True):
        schema = build_schema(production=production)
        for _ in range(100):
            await schema.execute("{ viewerRole }", context_value=context)
        started = time.perf_counter()
        for _ in range(calls):
            await schema.execute("{ viewerRole }", context_value=context)
        per_call = (time.perf_counter() - started) / calls
        mode = "production" if production else "development"
        print(f"in-process schema.execute({{ viewerRole }}), {mode}: {per_call * 1e6:.0f} µs/call")


async def main(clients: int, seconds: float) -> None:
    common.print_machine()
    await in_process()
    async with common.fresh_server(
        "queries",
        db_url=os.environ.get("LOYALTY_DATABASE_URL"),
        redis_url=os.environ.get("LOYALTY_REDIS_URL") or None,
        production=True,
        jobs=False,
    ) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            member = await member_token(client)
        tokens = {"integration": common.INTEGRATION, "member": member}
        print(
            f"{clients} concurrent clients, {seconds:.0f} s per query, "
            f"{common.backend(server.db_url)}, cores: {os.cpu_count()}"
        )
        for label, (query, who) in QUERIES.items():
            print(f"{label}: {query}")
            await measure(server.url, query, tokens[who], clients, seconds)
    common.print_load_after()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    asyncio.run(main(args.clients, args.seconds))
