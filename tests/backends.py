"""Where the suite's database and Redis come from.

By default: a SQLite file and an embedded Redis in a temporary directory. With
LOYALTY_TEST_DATABASE_URL (a PostgreSQL server URL) the suite creates its own database
there and drops it at the end; with LOYALTY_TEST_REDIS_URL it uses that Redis under a
key prefix of its own, so parallel runs do not see each other.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

TEST_DATABASE_URL = os.environ.get("LOYALTY_TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("LOYALTY_TEST_REDIS_URL", "")
ON_POSTGRES = TEST_DATABASE_URL.startswith(("postgres://", "postgresql://"))


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


@asynccontextmanager
async def database(tmp: Path, label: str) -> AsyncIterator[str]:
    """A fresh, empty database URL for one suite or one server; dropped afterwards."""
    if not ON_POSTGRES:
        yield f"sqlite://{tmp / f'{label}.sqlite3'}"
        return
    name = f"loyalty_test_{label}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(_asyncpg_dsn(TEST_DATABASE_URL))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield _with_database(TEST_DATABASE_URL, name)
    finally:
        admin = await asyncpg.connect(_asyncpg_dsn(TEST_DATABASE_URL))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def redis_url(tmp: Path) -> str:
    """The suite's Redis: the given server, or an embedded one started for this run."""
    if TEST_REDIS_URL:
        return TEST_REDIS_URL
    from core import redis as core_redis

    return core_redis.start_embedded(tmp / "redis")


async def delete_keys(client: Any, patterns: list[str]) -> None:
    """Delete every key matching `patterns` (on a cluster: on every node, slot by slot)."""
    keys = {k for p in patterns async for k in client.scan_iter(match=p, count=1000)}
    if keys:  # one UNLINK per key: a cluster refuses one of keys in different slots
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.execute_command("UNLINK", key)
        await pipe.execute()


async def drop_keys(url: str, prefix: str) -> None:
    """Delete a run's keys from a shared Redis (never FLUSHDB: other runs use it)."""
    from core import redis as core_redis

    client = core_redis.connect(url)
    try:
        await delete_keys(client, [f"{prefix}:*", "{" + f"{prefix}:*"])
    finally:
        await client.aclose()


def redis_prefix() -> str:
    return f"loyalty-test-{os.getpid()}-{secrets.token_hex(3)}"
