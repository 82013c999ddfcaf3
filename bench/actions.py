"""Benchmark: trackAction through the real GraphQL endpoint with 50 active missions.

Starts `loyalty serve` as a subprocess on a fresh database, defines an action type worth
points and 50 active missions on it (COUNT, SUM and STREAK_DAYS, every window, some with
rewards that complete during the run) plus a stamp card, enrols members, then several
concurrent clients track actions over HTTP. Each trackAction moves all 50 missions: one
database transaction and one Redis round trip after commit. Prints actions per second and
p50/p99 latency.

    python -m bench.actions                      # SQLite + embedded Redis (the default run)
    LOYALTY_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    LOYALTY_BENCH_REDIS_URL=redis://127.0.0.1:6379/0 python -m bench.actions
                                                 # PostgreSQL (a database is created and dropped)
Options: --actions N (default 2000), --clients N (8), --members N (200), --missions N (50).
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
ENROL = """mutation($i: EnrollMemberInput!) { enrollMember(input: $i) { errors { code } } }"""
TYPE = """mutation($i: ActionTypeInput!) { upsertActionType(input: $i) { errors { code } } }"""
BADGE = """mutation($i: BadgeInput!) { upsertBadge(input: $i) { errors { code } } }"""
MISSION = """mutation($i: MissionInput!) { createMission(input: $i) { errors { code message } } }"""
CARD = """mutation($i: StampCardInput!) { createStampCard(input: $i) { errors { code } } }"""
TRACK = """mutation($i: TrackActionInput!) { trackAction(input: $i) {
  pointsAwarded missions { progress } errors { code message } } }"""
KEY = "bench.action"


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

    name = f"loyalty_bench_actions_{os.getpid()}_{secrets.token_hex(3)}"
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


def _start(db_url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The real server as a subprocess, like tests/acceptance/conftest.py starts it."""
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
                return process, url
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
    [payload] = body["data"].values()
    if isinstance(payload, dict) and payload.get("errors"):
        raise RuntimeError(payload["errors"])
    return body["data"]


def _missions(count: int) -> list[dict[str, Any]]:
    """A mix of every measure and window; a few complete (and reward) during the run."""
    shapes = [
        ("COUNT", "ONCE", 10**6, {"points": 1}),
        ("COUNT", "DAILY", 5, {"points": 2}),
        ("SUM", "WEEKLY", 10**7, {"points": 3}),
        ("SUM", "MONTHLY", 40, {"points": 4, "badgeCode": "bench"}),
        ("STREAK_DAYS", "ONCE", 7, {"points": 5}),
    ]
    out = []
    for n in range(count):
        measure, window, target, reward = shapes[n % len(shapes)]
        out.append(
            {
                "title": f"Bench mission {n}",
                "actionType": KEY,
                "measure": measure,
                "window": window,
                "target": target,
                "reward": reward,
                "maxCompletions": None,
            }
        )
    return out


async def _run(url: str, actions: int, clients: int, members: int, missions: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=clients + 2)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        await _gql(client, TYPE, {"i": {"key": KEY, "name": "Bench", "points": 5}}, ADMIN)
        await _gql(client, BADGE, {"i": {"code": "bench", "name": "Bench"}}, ADMIN)
        for definition in _missions(missions):
            await _gql(client, MISSION, {"i": definition}, ADMIN)
        card = {
            "name": "Bench card",
            "actionType": KEY,
            "slots": 10,
            "prestamped": 2,
            "reward": {"points": 10},
        }
        await _gql(client, CARD, {"i": card}, ADMIN)
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
        # One action first, alone: the ledger creates the program's accounts on first use.
        warm = {"memberExternalId": "bench-0", "type": KEY, "idempotencyKey": "bench-warm-up"}
        await _gql(client, TRACK, {"i": warm}, INTEGRATION)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(actions):
            queue.put_nowait(n)
        latencies: list[float] = []
        moved: list[int] = []

        async def worker() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                action = {
                    "memberExternalId": f"bench-{n % members}",
                    "type": KEY,
                    "value": 1 + n % 5,
                    "idempotencyKey": f"bench-{n}",
                }
                began = time.perf_counter()
                data = await _gql(client, TRACK, {"i": action}, INTEGRATION)
                latencies.append(time.perf_counter() - began)
                moved.append(len(data["trackAction"]["missions"]))

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - began
        listed = await _gql(client, "{ missions { completions } }", {}, ADMIN)
    completions = sum(m["completions"] for m in listed["missions"])
    latencies.sort()
    return {
        "elapsed": elapsed,
        "per_second": actions / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "moved_avg": sum(moved) / len(moved),
        "completions": completions,
    }


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="loyalty-bench-") as tmp:
        async with _database(Path(tmp)) as db_url:
            backend = "PostgreSQL" if db_url.startswith("postgres") else "SQLite"
            process, url = _start(db_url, Path(tmp))
            try:
                result = await _run(url, args.actions, args.clients, args.members, args.missions)
            finally:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
    print(
        f"actions: trackAction over HTTP, {backend}, {args.missions} active missions, "
        f"{args.clients} clients, {args.members} members, {args.actions} actions in "
        f"{result['elapsed']:.1f}s ({os.cpu_count()} cores)"
    )
    print(f"  actions/s: {result['per_second']:.0f}")
    print(f"  p50: {result['p50_ms']:.1f} ms   p99: {result['p99_ms']:.1f} ms")
    print(
        f"  missions moved per action: {result['moved_avg']:.1f}, "
        f"mission completions (each rewarded): {result['completions']}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--actions", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--missions", type=int, default=50)
    asyncio.run(main(parser.parse_args()))
