"""Suite-wide fixtures: one migrated database and one Redis per run, cleaned per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from tortoise import Tortoise, connections

from core import clock, definitions, ratelimit, redis
from core.db import APP
from core.events import unit_of_work
from core.settings import Settings
from members.program import get_program
from rewards.ledger.accounts import ensure_system
from server import app as server_app
from server.cli import migrate
from tests import backends
from tests.cluster import cluster_url  # noqa: F401  (a fixture)

ADMIN_KEY = "test-admin-key"
INTEGRATION_KEY = "test-integration-key"
# Rate limits stay on for the whole suite (every request takes from a bucket), but high
# enough for tests that act in bulk; tests of the limits set their own (tests/core).
SUITE_RATE_LIMITS = ratelimit.RateLimitSettings(
    member_burst=10_000,
    staff_burst=100_000,
    anonymous_burst=10_000,
    strict_member_burst=10_000,
    strict_staff_burst=10_000,
)


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("loyalty")


@pytest_asyncio.fixture(scope="session")
async def settings(tmp_root: Path) -> AsyncIterator[Settings]:
    async with backends.database(tmp_root, "suite") as db_url:
        s = Settings(
            env="development",
            data_dir=tmp_root / "data",
            database_url=db_url,
            redis_url=backends.redis_url(tmp_root),
            redis_prefix=backends.redis_prefix(),
            admin_key=ADMIN_KEY,
            integration_key=INTEGRATION_KEY,
            secret_key="test-secret-key-0123456789abcdef",
            jobs_interval_seconds=0,
        )
        ratelimit.configure(SUITE_RATE_LIMITS)
        # The suite's schema comes from the real migrations, so they are tested too.
        await migrate(s)
        await server_app.start(s)
        try:
            yield s
        finally:
            await server_app.stop()
            if backends.TEST_REDIS_URL:
                await backends.drop_keys(backends.TEST_REDIS_URL, s.redis_prefix)


def _tables() -> list[str]:
    return [model._meta.db_table for model in Tortoise.apps[APP].values()]


async def empty_program() -> None:
    """An empty database as a freshly started service has it: no rows but the program's
    settings (with the defaults) and its ledger accounts; the definitions reloaded."""
    await _truncate(backends.ON_POSTGRES)
    definitions.forget()
    await get_program()
    async with unit_of_work():
        await ensure_system()


async def _truncate(on_postgres: bool) -> None:
    conn = connections.get("default")
    tables = _tables()
    if on_postgres:
        quoted = ", ".join(f'"{t}"' for t in tables)
        await conn.execute_script(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
    else:
        await conn.execute_script(
            "PRAGMA foreign_keys=OFF;"
            + "".join(f'DELETE FROM "{t}";' for t in tables)
            + "PRAGMA foreign_keys=ON;"
        )


@pytest_asyncio.fixture(autouse=True)
async def clean(settings: Settings) -> AsyncIterator[None]:
    """Every test starts from an empty program with default settings and a clean Redis."""
    clock.unfreeze()
    ratelimit.forget_refusals()
    await backends.delete_keys(redis.client(), redis.patterns())
    await empty_program()
    yield
    clock.unfreeze()


class Api:
    """Calls the real GraphQL endpoint in-process over ASGI."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def raw(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code in (200, 400), response.text
        return response.json()

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """The data of a query that must succeed without top-level errors."""
        body = await self.raw(query, variables, token=token)
        assert not body.get("errors"), body["errors"]
        return body["data"]

    async def admin(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self(query, variables, token=ADMIN_KEY)

    async def integration(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return await self(query, variables, token=INTEGRATION_KEY)


@pytest_asyncio.fixture(scope="session")
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = server_app.create_app(settings, run_jobs=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
def api(http: httpx.AsyncClient) -> Api:
    return Api(http)
