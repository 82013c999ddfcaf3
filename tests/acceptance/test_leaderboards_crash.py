"""A server killed with SIGKILL mid-load, while Redis stalls, loses no leaderboard change and
doubles none: the restarted process's outbox sweep applies what the dead one had committed
but not relayed (and what it had half-sent is applied once), so every board equals the
database; the reconciliation then finds no drift and a rebuild changes nothing."""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest_asyncio

from core import redis as core_redis
from tests import backends
from tests.acceptance.conftest import ROOT, Server, start_server, stop_server
from tests.conftest import ADMIN_KEY, INTEGRATION_KEY
from tests.server.processes import OwnRedis

ENROL = """mutation($i: EnrollMemberInput!) { enrollMember(input: $i) { errors { code } } }"""
ORDER = """mutation($i: RecordOrderInput!) { recordOrder(input: $i) { errors { code } } }"""
TYPE = """mutation($i: ActionTypeInput!) { upsertActionType(input: $i) { errors { code } } }"""
TRACK = """mutation($i: TrackActionInput!) { trackAction(input: $i) { errors { code } } }"""
UPSERT = """mutation($i: LeaderboardInput!) { upsertLeaderboard(input: $i) { errors { code } } }"""
MEMBERS = 12
PREFIX = "crash"


class Setup:
    def __init__(self, redis: OwnRedis, db_url: str, data_dir: Path) -> None:
        self.redis, self.db_url, self.data_dir = redis, db_url, data_dir

    def env(self, jobs: bool) -> dict[str, str]:
        return {
            "LOYALTY_DATABASE_URL": self.db_url,
            "LOYALTY_REDIS_URL": self.redis.url,
            "LOYALTY_REDIS_PREFIX": PREFIX,
            # Off: nothing but the writes themselves touches Redis before they commit.
            "LOYALTY_RATE_LIMIT_ENABLED": "false",
            "LOYALTY_JOBS_INTERVAL_SECONDS": "1" if jobs else "0",
        }

    async def outbox_rows(self) -> int:
        if backends.ON_POSTGRES:
            conn = await asyncpg.connect(self.db_url.replace("postgres://", "postgresql://", 1))
            try:
                return int(await conn.fetchval("SELECT COUNT(*) FROM outbox"))
            finally:
                await conn.close()
        with sqlite3.connect(self.db_url.removeprefix("sqlite://")) as db:
            return int(db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    async def boards(self) -> dict[str, Any]:
        """Every leaderboard sorted set and hash, raw."""
        client = core_redis.connect(self.redis.url, decode_responses=True)
        try:
            found: dict[str, Any] = {}
            async for key in client.scan_iter(match="{" + f"{PREFIX}:lb}}:[zh]:*", count=1000):
                if key.split(":")[2] == "z":
                    found[key] = await client.zrange(key, 0, -1, withscores=True)
                else:
                    found[key] = await client.hgetall(key)
            return found
        finally:
            await client.aclose()

    def loyalty(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")},
            "LOYALTY_DATA_DIR": str(self.data_dir),
            "LOYALTY_ADMIN_KEY": ADMIN_KEY,
            "LOYALTY_INTEGRATION_KEY": INTEGRATION_KEY,
            "LOYALTY_SECRET_KEY": "acceptance-secret-0123456789abcdef",
            **self.env(jobs=False),
        }
        return subprocess.run(
            [sys.executable, "-m", "server.cli", *args],
            cwd=str(ROOT),
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )


@pytest_asyncio.fixture
async def setup(tmp_root: Path) -> AsyncIterator[Setup]:
    redis = OwnRedis("--enable-debug-command", "yes")
    try:
        async with backends.database(tmp_root, f"crash{secrets.token_hex(2)}") as db_url:
            data_dir = tmp_root / f"crash-{secrets.token_hex(3)}"
            data_dir.mkdir()
            yield Setup(redis, db_url, data_dir)
    finally:
        redis.stop()


async def _load(server: Server, stop: asyncio.Event, action: str) -> int:
    """Orders and tracked actions from 8 clients until `stop` (or the server dies)."""
    sent = 0

    async def client(n: int) -> None:
        nonlocal sent
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            i = 0
            while not stop.is_set():
                i += 1
                member = f"crash-{(n + i) % MEMBERS}"
                if i % 2:
                    query, arguments = (
                        ORDER,
                        {
                            "orderId": f"o-{n}-{i}",
                            "memberExternalId": member,
                            "amount": str(20_000 * (i % 5 + 1)),
                        },
                    )
                else:
                    query, arguments = (
                        TRACK,
                        {
                            "memberExternalId": member,
                            "type": action,
                            "idempotencyKey": f"t-{n}-{i}",
                        },
                    )
                try:
                    await http.post(
                        "/graphql",
                        json={"query": query, "variables": {"i": arguments}},
                        headers={"Authorization": f"Bearer {INTEGRATION_KEY}"},
                    )
                except httpx.HTTPError:
                    return  # the server is gone
                sent += 1

    await asyncio.gather(*(client(n) for n in range(8)))
    return sent


async def test_kill_9_mid_load_then_restart_leaves_every_board_equal_to_the_database(
    setup: Setup,
) -> None:
    # given a server with members, a board of tracked actions and the built-in points board
    server = start_server(setup.env(jobs=False), setup.data_dir, "crash-a")
    try:
        action = "crash.visit"
        made = await server.data(TYPE, {"i": {"key": action, "name": "Visit"}}, token=ADMIN_KEY)
        assert made["upsertActionType"]["errors"] == []
        board = {"key": "visits", "name": "Visits", "metric": "ACTION_COUNT", "actionType": action}
        assert (await server.data(UPSERT, {"i": board}, token=ADMIN_KEY))["upsertLeaderboard"][
            "errors"
        ] == []
        for n in range(MEMBERS):
            enrol = {"externalId": f"crash-{n}", "displayName": f"Crash {n}"}
            assert (await server.data(ENROL, {"i": enrol}, token=INTEGRATION_KEY))["enrollMember"][
                "errors"
            ] == []
        # when writes pour in, Redis stalls for 2 s, and the server is killed (SIGKILL)
        # half a second into the stall: writes have committed whose relays are stuck
        stop = asyncio.Event()
        load = asyncio.create_task(_load(server, stop, action))
        await asyncio.sleep(1.0)
        sleeper = core_redis.connect(setup.redis.url, socket_timeout=10)
        stall = asyncio.create_task(sleeper.execute_command("DEBUG", "SLEEP", "2"))
        await asyncio.sleep(0.5)
        server.process.kill()
        server.process.wait(timeout=10)
        stop.set()
        sent = await load
        await stall
        await sleeper.aclose()
    finally:
        stop_server(server)
    assert sent > 20, sent
    left = await setup.outbox_rows()
    assert left > 0, "the kill left no relay undone: nothing was tested"
    # when a server starts again on the same database and Redis (its jobs off: only the
    # outbox sweep may bring Redis up to date)
    restarted = start_server(setup.env(jobs=False), setup.data_dir, "crash-b")
    try:
        deadline = time.monotonic() + 60  # rows stay claimed for 30 s by the dead process
        while await setup.outbox_rows():
            assert time.monotonic() < deadline, await setup.outbox_rows()
            await asyncio.sleep(0.5)
    finally:
        stop_server(restarted)
    swept = await setup.boards()
    assert any(":z:visits:" in key for key in swept) and any(":z:points:" in key for key in swept)
    # then the reconciliation finds every board equal to the database ...
    jobs = setup.loyalty("run-jobs")
    assert jobs.returncode == 0, jobs.stderr
    [line] = [x for x in jobs.stdout.splitlines() if x.startswith("leaderboards-reconcile:")]
    assert line.endswith("no drift"), (line, left)
    assert await setup.boards() == swept
    # ... and so does a rebuild from the database: it changes nothing
    rebuilt = setup.loyalty("rebuild-leaderboards")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert await setup.boards() == swept, left
