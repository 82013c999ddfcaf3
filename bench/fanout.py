"""One event to many sockets: N graphql-transport-ws `memberEvents` subscriptions of one
member, then repeated writes that each produce one event, timed until every socket has it.

The sockets are minimal websocket clients on asyncio protocols (handshake, masked text
frames out, unmasked frames in, pongs for the server's pings): each frame is time-stamped
in data_received, before any parsing, so the client's own cost barely delays what it
measures (a library client would wake one coroutine per socket and message). The event
is `PointsChanged`, caused by the admin's `adjustPoints` of `k` points for the k-th event,
so each delivery says which event it belongs to (`"delta": k`).

Per event: t0 just before the adjustPoints request is sent; the figure is the time until
the last of the N sockets received it (and, for reference, the median socket's time).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import statistics
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

import httpx

PROTOCOL = "graphql-transport-ws"
SUBSCRIPTION = "subscription { memberEvents { __typename ... on PointsChanged { delta } } }"
ADJUST = """mutation($i: AdjustPointsInput!) { adjustPoints(input: $i) {
  errors { code message } } }"""
_DELTA = re.compile(rb'"delta"\s*:\s*(\d+)')


def _frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (RFC 6455 5.2): FIN set, one frame per message."""
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


class Socket(asyncio.Protocol):
    """One websocket connection speaking graphql-transport-ws for one subscription."""

    def __init__(self, on_event: Callable[[int, float], None]) -> None:
        self.on_event = on_event
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        loop = asyncio.get_running_loop()
        self.handshaken: asyncio.Future[None] = loop.create_future()
        self.acknowledged: asyncio.Future[None] = loop.create_future()
        self.problems: list[str] = []
        self.closed = False

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._refuse(f"socket closed: {exc}")

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buffer[:end]).split(b"\r\n", 1)[0]
            del self.buffer[: end + 4]
            if b" 101 " not in status + b" ":
                self._fail(f"handshake refused: {status.decode(errors='replace')}")
                return
            self.upgraded = True
            self.handshaken.set_result(None)
        self._frames(now)

    # -- frames

    def _frames(self, now: float) -> None:
        buffer = self.buffer
        while len(buffer) >= 2:
            first, second = buffer[0], buffer[1]
            length, offset = second & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    return
                length, offset = struct.unpack_from("!H", buffer, 2)[0], 4
            elif length == 127:
                if len(buffer) < 10:
                    return
                length, offset = struct.unpack_from("!Q", buffer, 2)[0], 10
            if len(buffer) < offset + length:
                return
            payload = bytes(buffer[offset : offset + length])
            del buffer[: offset + length]
            self._message(first & 0x0F, payload, now)

    def _message(self, opcode: int, payload: bytes, now: float) -> None:
        if opcode == 0x9:  # ping: answer at once or the server drops us
            self._send(0xA, payload)
        elif opcode == 0x8:
            self._fail(f"closed by the server: {payload[2:].decode(errors='replace')}")
        elif opcode == 0x1:
            if b'"next"' in payload:
                found = _DELTA.search(payload)
                if found:
                    self.on_event(int(found.group(1)), now)
                else:
                    self.problems.append(payload.decode(errors="replace")[:300])
            elif b'"connection_ack"' in payload:
                if not self.acknowledged.done():
                    self.acknowledged.set_result(None)
            elif b'"ping"' in payload:
                self.send_json({"type": "pong"})
            elif b'"pong"' not in payload:  # error, complete, or anything unexpected
                self._fail(payload.decode(errors="replace")[:300])

    def _fail(self, problem: str) -> None:
        self.problems.append(problem)
        self._refuse(problem)
        if self.transport is not None:
            self.transport.close()

    def _refuse(self, problem: str) -> None:
        for waiter in (self.handshaken, self.acknowledged):
            if not waiter.done():
                waiter.set_exception(ConnectionError(problem))
                waiter.exception()  # retrieved: whoever awaits it still gets it, unlogged

    def _send(self, opcode: int, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_frame(opcode, payload))

    def send_json(self, message: dict[str, object]) -> None:
        self._send(0x1, json.dumps(message).encode())

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self._send(0x8, struct.pack("!H", 1000))
            self.transport.close()


async def open_socket(
    url: str, token: str, on_event: Callable[[int, float], None], within: float = 30
) -> Socket:
    """Connect, upgrade, connection_init with the token, wait for the ack, subscribe."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    _, socket = await loop.create_connection(lambda: Socket(on_event), host, port)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /graphql HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Protocol: {PROTOCOL}\r\n\r\n"
    )
    assert socket.transport is not None
    socket.transport.write(request.encode())
    async with asyncio.timeout(within):
        await socket.handshaken  # RFC 6455 4.1: no frame before the server's answer
        socket.send_json(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        )
        await socket.acknowledged
    socket.send_json({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}})
    return socket


@dataclass
class Fanout:
    """What measure() saw: per event, seconds to the last socket and to the median one."""

    sockets: int
    to_last: list[float] = field(default_factory=list)
    to_median: list[float] = field(default_factory=list)
    write: list[float] = field(default_factory=list)  # the adjustPoints request itself
    incomplete: int = 0  # events some socket never received within the timeout
    problems: list[str] = field(default_factory=list)
    connect_seconds: float = 0.0


class _Arrivals:
    """Arrival times of event k on every socket; wakes the waiter when all are in."""

    def __init__(self, sockets: int) -> None:
        self.sockets = sockets
        self.times: dict[int, list[float]] = {}
        self.complete: dict[int, asyncio.Event] = {}

    def expect(self, k: int) -> asyncio.Event:
        self.times[k] = []
        self.complete[k] = asyncio.Event()
        return self.complete[k]

    def arrived(self, k: int, now: float) -> None:
        times = self.times.get(k)
        if times is None:
            return  # an event from before this run (or a warm-up one arriving late)
        times.append(now)
        if len(times) >= self.sockets:
            self.complete[k].set()


async def measure(
    url: str,
    *,
    member_external_id: str,
    token: str,
    admin_key: str,
    sockets: int,
    events: int,
    warmup_events: int = 3,
    seconds: float = 60.0,
    event_timeout: float = 10.0,
    gap: float = 0.05,
    first_event: int = 1,
    on_connected: Callable[[], None] | None = None,
) -> Fanout:
    """Open `sockets` subscriptions, then send up to `events` events (or for `seconds`).

    Events are numbered from first_event (so several measurements on one member never
    mistake an old event for a new one); the first warmup_events are not counted."""
    arrivals = _Arrivals(sockets)
    result = Fanout(sockets=sockets)
    opened: list[Socket] = []
    began = time.perf_counter()
    try:
        for start in range(0, sockets, 100):  # 100 handshakes at a time: below any backlog
            batch = await asyncio.gather(
                *(
                    open_socket(url, token, arrivals.arrived)
                    for _ in range(start, min(sockets, start + 100))
                )
            )
            opened.extend(batch)
        result.connect_seconds = time.perf_counter() - began
        if on_connected is not None:
            on_connected()
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            headers = {"Authorization": f"Bearer {admin_key}"}
            deadline = time.perf_counter() + seconds
            k = first_event
            counted = 0
            while counted < events and time.perf_counter() < deadline:
                done = arrivals.expect(k)
                variables = {
                    "i": {
                        "memberExternalId": member_external_id,
                        "points": k,
                        "reason": "bench fan-out",
                        "idempotencyKey": f"fanout-{os.getpid()}-{time.time_ns()}-{k}",
                    }
                }
                t0 = time.perf_counter()
                response = await client.post(
                    "/graphql", json={"query": ADJUST, "variables": variables}, headers=headers
                )
                wrote = time.perf_counter() - t0
                body = response.json()
                if body.get("errors") or body["data"]["adjustPoints"]["errors"]:
                    raise RuntimeError(f"adjustPoints failed: {body}")
                warm = k - first_event < warmup_events
                try:
                    async with asyncio.timeout(event_timeout):
                        await done.wait()
                except TimeoutError:
                    if not warm:
                        result.incomplete += 1
                        counted += 1
                else:
                    if not warm:
                        times = sorted(arrivals.times[k])
                        result.to_last.append(times[-1] - t0)
                        result.to_median.append(statistics.median(times) - t0)
                        result.write.append(wrote)
                        counted += 1
                arrivals.times.pop(k, None)
                k += 1
                await asyncio.sleep(gap)
    finally:
        for socket in opened:
            result.problems.extend(socket.problems[:1])
            socket.close()
        await asyncio.sleep(0.2)  # let the closes go out before the loop moves on
    return result
