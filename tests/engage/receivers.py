"""Real local receivers for channel tests: an HTTP server (push gateways, SMS and Zalo
providers, webhook receivers) and an SMTP server (aiosmtpd), each on a free port of
127.0.0.1, started and stopped by the test."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


@dataclass
class HttpReceiver:
    url: str
    # Answers in turn: a status, or (status, JSON body), or "hang" (never answers); then 200.
    answers: list[Any]
    requests: list[Request] = field(default_factory=list)
    default: Any = 200

    @property
    def bodies(self) -> list[Any]:
        return [r.json for r in self.requests]


@asynccontextmanager
async def http_receiver(
    answers: list[Any] | None = None, default: Any = 200
) -> AsyncIterator[HttpReceiver]:
    """A real HTTP/1.1 server on a local port (keep-alive), recording every request."""
    receiver = HttpReceiver(url="", answers=list(answers or []), default=default)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                raw = await reader.readexactly(int(headers.get("content-length", "0")))
                receiver.requests.append(Request(path, headers, raw))
                answer = receiver.answers.pop(0) if receiver.answers else receiver.default
                if answer == "hang":
                    await asyncio.sleep(3600)
                status, payload = answer if isinstance(answer, tuple) else (answer, None)
                body = json.dumps(payload).encode() if payload is not None else b""
                writer.write(
                    f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
                    f"content-length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    receiver.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield receiver
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    port: int
    mails: list[Message] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.box.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.box.mails.append(
            message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        )
        self.box.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


@asynccontextmanager
async def smtp_receiver() -> AsyncIterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on a local port, keeping every mail it accepts."""
    box = Mailbox(port=free_port())
    controller = Controller(_Handler(box), hostname="127.0.0.1", port=box.port)
    await asyncio.to_thread(controller.start)
    try:
        yield box
    finally:
        await asyncio.to_thread(controller.stop)
