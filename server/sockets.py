"""Websocket lifetime: a socket lives no longer than the credential that opened it.

Once connection_init is acknowledged, a watcher task closes the socket with 4403:

- a member token: at its `exp`, and when `{"type": "Revoked"}` is published on the member's
  channel `member:{id}` (member care publishes it after an erasure commits);
- a stored API key: when `{"type": "Revoked"}` is published on `api_key:{id}` (what
  `loyalty revoke-api-key` does), and at the latest when a re-check every
  KEY_CACHE_SECONDS finds it revoked (a revocation made some other way).

Bootstrap keys live as long as the process's settings. Messages come through the pub/sub
Hub, so a revocation published by any process closes the sockets held by every process.

`MessageGuard` holds socket messages to what server/http_guard.py holds HTTP bodies to: a
message that is not one JSON object nested at most MAX_DEPTH deep closes the socket with
4400 (the protocol's "invalid message"), instead of failing inside the handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from core import clock, pubsub, security
from core.security import Viewer
from server.http_guard import MAX_DEPTH, too_deep

log = logging.getLogger("loyalty.sockets")

CLOSE_FORBIDDEN = 4403
_RETRY_SECONDS = 5.0


async def _expiry(expires_at: float) -> str:
    await asyncio.sleep(max(0.0, expires_at - clock.now().timestamp()))
    return "member token expired"


async def _revocation(channel: str) -> str:
    while True:
        try:
            # Woken only by a payload naming Revoked, not by each of the member's events.
            async with pubsub.hub.listen(channel, containing='"Revoked"') as queue:
                while True:
                    published = pubsub.messages(await queue.get())
                    if any(m.get("type") == "Revoked" for m in published):
                        return "credential revoked"
        except asyncio.CancelledError:
            raise
        except Exception:  # Redis unreachable: keep trying, expiry still holds
            log.warning("listening for revocations on %s failed; retrying", channel, exc_info=True)
            await asyncio.sleep(_RETRY_SECONDS)


async def _key_recheck(key_id: int) -> str:
    while True:
        await asyncio.sleep(security.KEY_CACHE_SECONDS)
        try:
            if not await security.key_is_active(key_id):
                return "api key revoked"
        except Exception:
            log.warning("re-checking api key %s failed", key_id, exc_info=True)


async def until_revoked(viewer: Viewer) -> str | None:
    """Wait until the viewer's credential ends; the reason, or None if it never does."""
    waits: list[Coroutine[Any, Any, str]] = []
    if viewer.expires_at is not None:
        waits.append(_expiry(viewer.expires_at))
    if viewer.member_id is not None:
        waits.append(_revocation(f"member:{viewer.member_id}"))
    if viewer.key_id is not None:
        waits.append(_revocation(security.key_channel(viewer.key_id)))
        waits.append(_key_recheck(viewer.key_id))
    if not waits:
        return None
    tasks = [asyncio.create_task(w) for w in waits]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return next(iter(done)).result()
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class CredentialLifetime:
    """Mixin for strawberry's graphql-transport-ws handler: start the watcher once the
    connection is acknowledged, stop it when the socket goes."""

    _watcher: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)  # type: ignore[misc]
        if getattr(self, "connection_acknowledged", False) and self._watcher is None:
            self._watcher = asyncio.create_task(self._watch(), name="socket-credential")

    async def shutdown(self) -> None:
        if self._watcher is not None and self._watcher is not asyncio.current_task():
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watcher
        await super().shutdown()  # type: ignore[misc]

    async def _watch(self) -> None:
        viewer: Viewer = self.context.viewer  # type: ignore[attr-defined]
        reason = await until_revoked(viewer)
        if reason is None:
            return
        # Stop the operations first, so none sends on a closing socket.
        operations = self.operations  # type: ignore[attr-defined]
        for operation_id in list(operations):
            with contextlib.suppress(Exception):
                await self.cleanup_operation(operation_id)  # type: ignore[attr-defined]
        with contextlib.suppress(Exception):
            await self.websocket.close(code=CLOSE_FORBIDDEN, reason=reason)  # type: ignore[attr-defined]


class MessageGuard:
    """Mixin for strawberry's graphql-transport-ws handler: refuse messages that are not a
    JSON object of bounded depth with 4400."""

    async def handle(self) -> None:
        try:
            await super().handle()  # type: ignore[misc]
        except RecursionError:  # nested past what the JSON parser takes
            with contextlib.suppress(Exception):
                await self.websocket.close(  # type: ignore[attr-defined]
                    code=4400, reason=f"message nested deeper than {MAX_DEPTH} levels"
                )

    async def handle_message(self, message: Any) -> None:
        if not isinstance(message, dict):
            await self.handle_invalid_message("message must be a JSON object")  # type: ignore[attr-defined]
            return
        if too_deep(message):
            await self.handle_invalid_message(  # type: ignore[attr-defined]
                f"message nested deeper than {MAX_DEPTH} levels"
            )
            return
        await super().handle_message(message)  # type: ignore[misc]
