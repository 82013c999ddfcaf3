"""HTTP requests to /graphql that are not a GraphQL request get a JSON error, never a 500.

An ASGI middleware in front of the GraphQL view (inside the body cap). A POST body must be
UTF-8 JSON (no NaN or Infinity, numbers that fit a float) holding one object nested at most
MAX_DEPTH deep; anything else is HTTP 400 with `{"errors": [{"message", "extensions":
{"code": "INVALID_INPUT"}}]}` before any credential is looked up. Error responses the view
itself sends as text (wrong method, GET queries) are turned into the same JSON shape, and an
exception escaping the app becomes a JSON 500 (its traceback goes to the log). A caller
known to be over its rate limit (core.ratelimit.refused_for) is answered 429 with
Retry-After and LIMIT_REACHED before its body is read, as is a look-up of an unknown
credential refused by the address's limit (RateLimited raised by the view).
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import ratelimit
from core.errors import ErrorCode
from core.ratelimit import RateLimited, retry_seconds
from core.security import identity_without_lookup
from core.settings import Settings

log = logging.getLogger("loyalty.http")

MAX_DEPTH = 32
_CODES = {
    401: ErrorCode.UNAUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    429: ErrorCode.LIMIT_REACHED,
}


class BadRequest(Exception):
    pass


def error_body(message: str, code: ErrorCode | None, **extra: Any) -> bytes:
    extensions = {"code": code.value, **extra} if code is not None else {}
    return json.dumps({"errors": [{"message": message, "extensions": extensions}]}).encode()


async def send_error(
    send: Send,
    status: int,
    message: str,
    code: ErrorCode | None,
    headers: list[tuple[bytes, bytes]] | None = None,
    **extra: Any,
) -> None:
    body = error_body(message, code, **extra)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _constant(name: str) -> Any:
    raise BadRequest(f"JSON has no {name}")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadRequest("a number in the body is too large")
    return value


def too_deep(value: Any) -> bool:
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            pending.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            pending.extend((v, depth + 1) for v in item)
    return False


def check_body(raw: bytes) -> None:
    """Raise BadRequest unless `raw` is one JSON object a GraphQL request can be."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("the body must be UTF-8") from exc
    try:
        data = json.loads(text, parse_constant=_constant, parse_float=_float)
    except RecursionError as exc:
        raise BadRequest(f"the body is nested deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:  # JSONDecodeError, and integers too long to convert
        raise BadRequest("the body is not valid JSON") from exc
    if isinstance(data, list):
        raise BadRequest("batched requests (a JSON list) are not supported: send one object")
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object with a 'query'")
    if too_deep(data):
        raise BadRequest(f"the body is nested deeper than {MAX_DEPTH} levels")


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers") or []:
        if name == b"content-type":
            return value.split(b";")[0].strip().lower() == b"application/json"
    return False


class HttpGuard:
    def __init__(self, app: ASGIApp, settings: Settings, path: str = "/graphql") -> None:
        self.app = app
        self.settings = settings
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != self.path:
            await self.app(scope, receive, send)
            return
        if ratelimit.anyone_refused():
            wait = ratelimit.refused_for(self._identity(scope))
            if wait is not None:
                await _too_many(send, RateLimited(wait))
                return
        if scope.get("method") == "POST":
            if not _is_json(scope):
                await send_error(
                    send, 400, "Content-Type must be application/json", ErrorCode.INVALID_INPUT
                )
                return
            body = await _read(receive)
            try:
                check_body(body)
            except BadRequest as exc:
                await send_error(send, 400, str(exc), ErrorCode.INVALID_INPUT)
                return
            receive = _replay(body, receive)
        await self._serve(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False
        held: Message | None = None  # a text error's start, waiting for its body

        async def guarded_send(message: Message) -> None:
            nonlocal started, held
            if message["type"] == "http.response.start":
                started = True
                if message["status"] >= 400 and _is_text(message):
                    held = message
                    return
            elif message["type"] == "http.response.body" and held is not None:
                text = message.get("body", b"").decode("utf-8", "replace")
                status = held["status"]
                held = None
                await send_error(send, status, text, _CODES.get(status, ErrorCode.INVALID_INPUT))
                return
            await send(message)

        try:
            await self.app(scope, receive, guarded_send)
        except RateLimited as refused:
            if started:
                raise
            await _too_many(send, refused)
        except Exception:
            log.exception("unexpected error serving %s", self.path)
            if not started:
                await send_error(send, 500, "Internal server error", None)
                return
            raise

    def _identity(self, scope: Scope) -> str:
        header = next((v for k, v in scope.get("headers") or [] if k == b"authorization"), None)
        text = header.decode("latin-1") if header is not None else None
        known = identity_without_lookup(text, self.settings)
        client = scope.get("client")
        return known or f"address:{client[0] if client else None}"


async def _too_many(send: Send, refused: RateLimited) -> None:
    seconds = retry_seconds(refused.retry_after)
    await send_error(
        send,
        429,
        refused.message,
        ErrorCode.LIMIT_REACHED,
        [(b"retry-after", str(seconds).encode())],
        retryAfter=seconds,
    )


def _is_text(message: Message) -> bool:
    for name, value in message.get("headers") or []:
        if name.lower() == b"content-type":
            return bool(value.startswith(b"text/plain"))
    return False


async def _read(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
