"""Small queries through the real server over HTTP, with concurrent clients.

Starts `loyalty serve` (production mode: no access log, as deployed) on a temporary
SQLite file and embedded Redis, or on LOYALTY_DATABASE_URL / LOYALTY_REDIS_URL if set,
enrols one member, then has CLIENTS concurrent clients send each query for SECONDS
seconds and prints requests/s and latency percentiles.

    .venv/bin/python -m bench.queries [--clients 16] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ADMIN = "bench-admin-key"
INTEGRATION = "bench-integration-key"
QUERIES = {
    "program (integration key)": ("{ program { name timezone } }", "integration"),
    "me (member token)": ("{ me { id displayName referralCode } }", "member"),
    "viewerRole (no database)": ("{ viewerRole }", "integration"),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")} | {
        "LOYALTY_ENV": "production",
        "LOYALTY_DATA_DIR": str(data_dir),
        "LOYALTY_SECRET_KEY": "bench-secret-0123456789abcdef0123456789",
        "LOYALTY_ADMIN_KEY": ADMIN,
        "LOYALTY_INTEGRATION_KEY": INTEGRATION,
        "LOYALTY_JOBS_INTERVAL_SECONDS": "0",
    }
    for name in ("LOYALTY_DATABASE_URL", "LOYALTY_REDIS_URL"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
        cwd=str(data_dir),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(data_dir / "server.log").open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit((data_dir / "server.log").read_text())
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("server did not start")


async def member_token(client: httpx.AsyncClient) -> str:
    auth = {"Authorization": f"Bearer {INTEGRATION}"}
    await client.post(
        "/graphql",
        headers=auth,
        json={
            "query": 'mutation { enrollMember(input: {externalId: "bench-1", '
            'displayName: "Nguyễn Văn Bench"}) { errors { code } } }'
        },
    )
    body = (
        await client.post(
            "/graphql",
            headers=auth,
            json={"query": 'mutation { issueMemberToken(memberExternalId: "bench-1") { token } }'},
        )
    ).json()
    return str(body["data"]["issueMemberToken"]["token"])


async def measure(url: str, query: str, token: str, clients: int, seconds: float) -> None:
    latencies: list[float] = []
    errors = 0
    headers = {"Authorization": f"Bearer {token}"}
    payload = {"query": query}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        for _ in range(clients):  # warm up connections and caches
            await client.post("/graphql", json=payload, headers=headers)
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                started = time.perf_counter()
                response = await client.post("/graphql", json=payload, headers=headers)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200 or "errors" in response.json():
                    errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - began
    quantiles = statistics.quantiles(latencies, n=100)
    print(
        f"  {len(latencies) / elapsed:8.0f} req/s   p50 {quantiles[49] * 1000:6.1f} ms   "
        f"p99 {quantiles[98] * 1000:6.1f} ms   ({len(latencies)} requests, {errors} errors)"
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
    await in_process()
    with tempfile.TemporaryDirectory() as tmp:
        process, url = start(Path(tmp))
        try:
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                tokens = {"integration": INTEGRATION, "member": await member_token(client)}
            print(
                f"{clients} concurrent clients, {seconds:.0f} s per query, cores: {os.cpu_count()}"
            )
            for label, (query, who) in QUERIES.items():
                print(f"{label}: {query}")
                await measure(url, query, tokens[who], clients, seconds)
        finally:
            process.terminate()
            process.wait(timeout=15)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    asyncio.run(main(args.clients, args.seconds))
