"""Acceptance fixtures: the real `loyalty serve` as a subprocess, real HTTP and websockets."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import websockets

from tests import backends
from tests.conftest import ADMIN_KEY, INTEGRATION_KEY, SUITE_RATE_LIMITS

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as client:
            response = await client.post(
                "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
            )
        return response.json()

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        body = await self.gql(query, variables, token=token)
        assert not body.get("errors"), body
        return body["data"]


def start_server(env_extra: dict[str, str], data_dir: Path, name: str) -> Server:
    port = free_port()
    log = data_dir / f"{name}.log"
    env = {
        **os.environ,
        "LOYALTY_ENV": "development",
        "LOYALTY_PORT": str(port),
        "LOYALTY_HOST": "127.0.0.1",
        "LOYALTY_DATA_DIR": str(data_dir),
        "LOYALTY_ADMIN_KEY": ADMIN_KEY,
        "LOYALTY_INTEGRATION_KEY": INTEGRATION_KEY,
        "LOYALTY_SECRET_KEY": "acceptance-secret-0123456789abcdef",
        **{
            f"LOYALTY_RATE_LIMIT_{name.upper()}": str(value)
            for name, value in SUITE_RATE_LIMITS.model_dump().items()
        },
        **env_extra,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve"],
        cwd=str(data_dir),  # the service must not depend on the working directory
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return Server(url=url, process=process, log=log)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start: {log.read_text()}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest_asyncio.fixture(scope="session")
async def shared_redis_url(tmp_root: Path) -> str:
    return backends.redis_url(tmp_root)


@pytest_asyncio.fixture(scope="session")
async def server_env(tmp_root: Path, shared_redis_url: str) -> AsyncIterator[dict[str, str]]:
    prefix = backends.redis_prefix()
    async with backends.database(tmp_root, "acceptance") as db_url:
        yield {
            "LOYALTY_DATABASE_URL": db_url,
            "LOYALTY_REDIS_URL": shared_redis_url,
            "LOYALTY_REDIS_PREFIX": prefix,
        }
    if backends.TEST_REDIS_URL:
        await backends.drop_keys(shared_redis_url, prefix)


@pytest.fixture(scope="session")
def server(server_env: dict[str, str], tmp_root: Path) -> Iterator[Server]:
    data_dir = tmp_root / "server-a"
    data_dir.mkdir(exist_ok=True)
    srv = start_server(server_env, data_dir, "a")
    yield srv
    stop_server(srv)


@pytest.fixture(scope="session")
def second_server(server_env: dict[str, str], tmp_root: Path, server: Server) -> Iterator[Server]:
    """Another process on the same database and Redis (started after the first migrated)."""
    data_dir = tmp_root / "server-b"
    data_dir.mkdir(exist_ok=True)
    srv = start_server(server_env, data_dir, "b")
    yield srv
    stop_server(srv)


@asynccontextmanager
async def socket_for(server: Server, token: str) -> AsyncIterator[Any]:
    """A graphql-transport-ws connection, initialised with the credential."""
    async with websockets.connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        ack = json.loads(await ws.recv())
        assert ack["type"] == "connection_ack", ack
        yield ws


async def subscribe(
    ws: Any, query: str, op_id: str = "1", variables: dict[str, Any] | None = None
) -> None:
    await ws.send(
        json.dumps(
            {
                "id": op_id,
                "type": "subscribe",
                "payload": {"query": query, "variables": variables or {}},
            }
        )
    )


async def next_message(ws: Any, wait: float = 5.0) -> dict[str, Any]:
    async with asyncio.timeout(wait):
        return json.loads(await ws.recv())


@pytest_asyncio.fixture(autouse=True)
async def ledger_stays_balanced(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """After every acceptance test that used the server: ledgerAudit.balanced is true."""
    yield
    if "server" not in request.fixturenames:
        return
    srv: Server = request.getfixturevalue("server")
    audit = await srv.data("{ ledgerAudit { balanced accountsOutOfBalance } }", token=ADMIN_KEY)
    assert audit["ledgerAudit"] == {"balanced": True, "accountsOutOfBalance": 0}
