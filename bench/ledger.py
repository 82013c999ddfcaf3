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
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "bench-admin-key"
INTEGRATION = "bench-integration-key"
RECORD = """mutation($i: RecordOrderInput!) { recordOrder(input: $i) {
  pointsEarned duplicate errors { code message } } }"""
ENROL = """mutation($i: EnrollMemberInput!) { enrollMember(input: $i) { errors { code } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def _database(tmp: Path) -> AsyncIterator[str]:
    server_url = os.environ.get("LOYALTY_BENCH_DATABASE_URL", "")
    if not server_url:
        yield f"sqlite://{tmp / 'bench.sqlite3'}"
        return
    import asyncpg

    name = f"loyalty_bench_{os.getpid()}_{secrets.token_hex(3)}"
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


def _start(db_url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = _free_port()
    log = data_dir / "server.log"
    env = {
        **os.environ,
        "LOYALTY_ENV": "development",
        "LOYALTY_HOST": "127.0.0.1",
        "LOYALTY_PORT": str(port),
        "LOYALTY_DATA_DIR": str(data_dir),
        "LOYALTY_DATABASE_URL": db_url,
        "LOYALTY_REDIS_URL": os.environ.get("LOYALTY_BENCH_REDIS_URL", ""),
        "LOYALTY_REDIS_PREFIX": f"loyalty-bench-{secrets.token_hex(3)}",
        "LOYALTY_ADMIN_KEY": ADMIN,
        "LOYALTY_INTEGRATION_KEY": INTEGRATION,
        "LOYALTY_SECRET_KEY": "bench-secret-0123456789abcdef0123",
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve"],
        cwd=str(data_dir),
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return process, url, log
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start:\n{log.read_text()}")


async def _gql(client: httpx.AsyncClient, query: str, variables: dict[str, Any], key: str) -> Any:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {key}"},
    )
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]


async def _run(url: str, orders: int, clients: int, members: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=clients + 2)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        for start in range(0, members, 20):
            await asyncio.gather(
                *(
                    _gql(
                        client,
                        ENROL,
                        {"i": {"externalId": f"bench-{n}", "displayName": f"Bench {n}"}},
                        INTEGRATION,
                    )
                    for n in range(start, min(members, start + 20))
                )
            )
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(orders):
            queue.put_nowait(n)
        latencies: list[float] = []
        failures: list[Any] = []

        async def worker() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                order = {
                    "orderId": f"bench-order-{n}",
                    "memberExternalId": f"bench-{n % members}",
                    "amount": str(100_000 + (n * 7919) % 2_000_000),
                }
                began = time.perf_counter()
                data = await _gql(client, RECORD, {"i": order}, INTEGRATION)
                latencies.append(time.perf_counter() - began)
                if data["recordOrder"]["errors"]:
                    failures.append(data["recordOrder"]["errors"])

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - began
        audit = await _gql(client, "{ ledgerAudit { balanced pointsOutstanding } }", {}, ADMIN)
    latencies.sort()
    return {
        "orders": orders,
        "clients": clients,
        "elapsed": elapsed,
        "per_second": orders / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "failures": failures,
        "audit": audit["ledgerAudit"],
    }


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="loyalty-bench-") as tmp:
        async with _database(Path(tmp)) as db_url:
            backend = "PostgreSQL" if db_url.startswith("postgres") else "SQLite"
            process, url, _ = _start(db_url, Path(tmp))
            try:
                result = await _run(url, args.orders, args.clients, args.members)
            finally:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
    print(
        f"ledger: recordOrder over HTTP, {backend}, {result['clients']} clients, "
        f"{result['orders']} orders in {result['elapsed']:.1f}s"
    )
    print(f"  orders/s: {result['per_second']:.0f}")
    print(f"  p50: {result['p50_ms']:.1f} ms   p99: {result['p99_ms']:.1f} ms")
    print(f"  errors: {len(result['failures'])}   ledgerAudit: {result['audit']}")
    if result["failures"] or not result["audit"]["balanced"]:
        print(f"  first failure: {result['failures'][:1]}")
        sys.exit(1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--members", type=int, default=200)
    asyncio.run(main(parser.parse_args()))
