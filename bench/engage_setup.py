"""Shared setup of the engage benchmarks: a fresh migrated database and the app's services.

LOYALTY_BENCH_DATABASE_URL (a PostgreSQL server URL) makes a database there and drops it
afterwards; without it a SQLite file in a temporary directory is used.
LOYALTY_BENCH_REDIS_URL picks the Redis (default: the embedded one). LOYALTY_BENCH_KEEP=1
keeps the PostgreSQL database (its name is printed) for a closer look; drop it afterwards.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from core.settings import Settings


@asynccontextmanager
async def database(tmp: Path) -> AsyncIterator[str]:
    server_url = os.environ.get("LOYALTY_BENCH_DATABASE_URL", "")
    if not server_url:
        yield f"sqlite://{tmp / 'bench.sqlite3'}"
        return
    import asyncpg

    name = f"loyalty_bench_engage_{os.getpid()}_{secrets.token_hex(3)}"
    dsn = server_url.replace("postgres://", "postgresql://", 1)
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    parts = urlsplit(server_url)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))
    finally:
        if os.environ.get("LOYALTY_BENCH_KEEP"):
            print(f"kept database {name}")
        else:
            admin = await asyncpg.connect(dsn)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


@asynccontextmanager
async def services() -> AsyncIterator[Settings]:
    """A migrated database, Redis and the wiring, as `loyalty serve` has them."""
    from server import app
    from server.cli import migrate

    with tempfile.TemporaryDirectory() as tmp:
        async with database(Path(tmp)) as db_url:
            settings = Settings(
                env="development",
                data_dir=Path(tmp) / "data",
                database_url=db_url,
                redis_url=os.environ.get("LOYALTY_BENCH_REDIS_URL", ""),
                redis_prefix=f"loyalty-bench-{secrets.token_hex(3)}",
                admin_key="bench-admin",
                integration_key="bench-integration",
                secret_key="bench-secret-0123456789abcdef0123",
                jobs_interval_seconds=0,
            )
            await migrate(settings)
            await app.start(settings)
            try:
                yield settings
            finally:
                await app.stop()


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]
