"""The real app served by uvicorn inside the test process, on the suite's database, Redis
and key prefix: real HTTP and websockets, while core.pubsub.publish from the test reaches
its sockets (the services are the suite's, so the app's lifespan is off)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
import websockets

from core.settings import Settings
from server.app import create_app
from tests.acceptance.conftest import free_port


@dataclass
class Live:
    url: str

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"


@asynccontextmanager
async def live_server(settings: Settings) -> AsyncIterator[Live]:
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, run_jobs=False),
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        ws_per_message_deflate=False,
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
        assert server.started, "uvicorn did not start"
        yield Live(url=f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def socket(live: Live, credential: str) -> AsyncIterator[Any]:
    """A graphql-transport-ws connection, acknowledged."""
    async with websockets.connect(live.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {credential}"}}
        await ws.send(json.dumps(init))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert ack["type"] == "connection_ack", ack
        yield ws


async def subscribe(ws: Any, query: str, op_id: str = "1") -> None:
    message = {"id": op_id, "type": "subscribe", "payload": {"query": query}}
    await ws.send(json.dumps(message))


async def closed_with(ws: Any, within: float) -> int | None:
    """Read until the server closes the socket; its close code (None if still open)."""
    try:
        async with asyncio.timeout(within):
            while True:
                await ws.recv()
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        return None
