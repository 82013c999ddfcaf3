"""What the benchmarks share: machine facts, databases, the server, load loops, percentiles.

- `machine()`: cores, memory, load average and Python, printed at the start (and end) of
  every benchmark, since the figures are only as good as the machine they ran on.
- `database()`: a temporary SQLite file, or a fresh database on the PostgreSQL server of
  LOYALTY_BENCH_DATABASE_URL, dropped afterwards (LOYALTY_BENCH_KEEP=1 keeps it and prints
  its name). LOYALTY_BENCH_REDIS_URL picks a Redis server (default: the embedded one);
  every run uses a unique key prefix and deletes its own keys afterwards (never FLUSHDB:
  the server may be shared).
- `start_server()` / `stop_server()`, `running_server()`, `fresh_server()`: the real
  `loyalty serve` as a subprocess, as tests/acceptance/conftest.py starts it
  (LOYALTY_BENCH_PROFILE=FILE runs it under cProfile, stats written to FILE when it
  stops); `service_env()`: the LOYALTY_* environment of such a process (bench/hotpaths.py
  starts its own servers with it); `services()`: the same wiring in-process (migrated
  database, Redis, app).
- `run_load()`: concurrent clients repeating a request, by count or for some seconds,
  returning each request's latency; `percentile()` and `Load.p50_ms` (median) /
  `p99_ms` (the sample at rank int(0.99 n)), used by every benchmark.
"""

from __future__ import annotations

import asyncio
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx

if TYPE_CHECKING:
    from core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "bench-admin-key-0123456789abcdef01234"  # production: 32+ bytes
INTEGRATION = "bench-integration-key-0123456789abcdef"  # production: 32+ bytes
SECRET = "bench-secret-0123456789abcdef0123456789"
ENROL = """mutation($i: EnrollMemberInput!) { enrollMember(input: $i) { errors { code } } }"""
TOKEN = "mutation($e: String!) { issueMemberToken(memberExternalId: $e) { token } }"

T = TypeVar("T")


# -- the machine -------------------------------------------------------------------------


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def machine() -> str:
    """One line of machine facts: cores, memory, load average (1, 5, 15 min), Python."""
    memory = _memory_gib()
    parts = [
        f"{os.cpu_count()} cores",
        f"{memory:.1f} GiB memory" if memory is not None else "memory n/a",
        f"load average {load_average()}",
        f"Python {platform.python_version()}",
    ]
    return "machine: " + ", ".join(parts)


def print_machine() -> None:
    print(machine(), flush=True)


def print_load_after() -> None:
    print(f"load average after: {load_average()}", flush=True)


# -- database and Redis ------------------------------------------------------------------


def backend(db_url: str) -> str:
    return "PostgreSQL" if db_url.startswith("postgres") else "SQLite"


def bench_database_url() -> str:
    return os.environ.get("LOYALTY_BENCH_DATABASE_URL", "")


def bench_redis_url() -> str:
    return os.environ.get("LOYALTY_BENCH_REDIS_URL", "")


def new_prefix(tag: str = "bench") -> str:
    return f"loyalty-{tag}-{os.getpid()}-{secrets.token_hex(3)}"


@asynccontextmanager
async def database(tmp: Path, tag: str, server_url: str | None = None) -> AsyncIterator[str]:
    """A SQLite file under tmp, or a fresh PostgreSQL database (server_url, by default
    LOYALTY_BENCH_DATABASE_URL) dropped on the way out unless LOYALTY_BENCH_KEEP is set."""
    server_url = bench_database_url() if server_url is None else server_url
    if not server_url:
        yield f"sqlite://{tmp / 'bench.sqlite3'}"
        return
    import asyncpg

    name = f"loyalty_bench_{tag}_{os.getpid()}_{secrets.token_hex(3)}"
    dsn = server_url.replace("postgres://", "postgresql://", 1)
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    parts = urlsplit(server_url)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))
    finally:
        if os.environ.get("LOYALTY_BENCH_KEEP"):
            print(f"kept database {name}")
        else:
            admin = await asyncpg.connect(dsn)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


async def delete_redis_keys(redis_url: str, prefix: str) -> int:
    """UNLINK every key under prefix on a Redis server (nothing else: it may be shared),
    hash-tagged ones included (`{prefix:...}...`, core.redis.tagged)."""
    if not redis_url:
        return 0  # the embedded Redis goes away with its temporary directory
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    deleted = 0
    try:
        keys = [
            k
            for pattern in (f"{prefix}:*", "{" + f"{prefix}:*")
            async for k in client.scan_iter(match=pattern, count=5000)
        ]
        for start in range(0, len(keys), 5000):
            deleted += await client.unlink(*keys[start : start + 5000])
    finally:
        await client.aclose()
    return deleted


@asynccontextmanager
async def services(
    tag: str,
    database_url: str | None = None,
    redis_url: str | None = None,
    prefix: str | None = None,
) -> AsyncIterator[Settings]:
    """A migrated database, Redis and the app's wiring in-process, as `loyalty serve` has
    them (jobs off). Defaults: LOYALTY_BENCH_DATABASE_URL / LOYALTY_BENCH_REDIS_URL."""
    from core.settings import Settings
    from server import app
    from server.cli import migrate

    redis_url = bench_redis_url() if redis_url is None else redis_url
    prefix = prefix or new_prefix(tag)
    with tempfile.TemporaryDirectory(prefix="loyalty-bench-") as tmp:
        async with database(Path(tmp), tag, database_url) as db_url:
            settings = Settings(
                env="development",
                data_dir=Path(tmp) / "data",
                database_url=db_url,
                redis_url=redis_url,
                redis_prefix=prefix,
                admin_key=ADMIN,
                integration_key=INTEGRATION,
                secret_key=SECRET,
                jobs_interval_seconds=0,
            )
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            await migrate(settings)
            await app.start(settings)
            try:
                yield settings
            finally:
                try:
                    await delete_redis_keys(redis_url, prefix)
                finally:
                    await app.stop()


# -- the server over HTTP ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    db_url: str
    process: subprocess.Popen[bytes]
    log: Path
    redis_url: str
    prefix: str


def service_env(
    data_dir: Path,
    db_url: str,
    *,
    redis_url: str,
    prefix: str,
    production: bool = False,
    jobs: bool = True,
    rate_limits: bool = False,
) -> dict[str, str]:
    """The environment of a `loyalty` process of a benchmark: this process's variables less
    every LOYALTY_* one (the run is defined here alone), plus the run's own settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")} | {
        "LOYALTY_ENV": "production" if production else "development",
        "LOYALTY_HOST": "127.0.0.1",
        "LOYALTY_DATA_DIR": str(data_dir),
        "LOYALTY_DATABASE_URL": db_url,
        "LOYALTY_REDIS_URL": redis_url,
        "LOYALTY_REDIS_PREFIX": prefix,
        "LOYALTY_ADMIN_KEY": ADMIN,
        "LOYALTY_INTEGRATION_KEY": INTEGRATION,
        "LOYALTY_SECRET_KEY": SECRET,
        "PYTHONPATH": str(ROOT),
        # Measured without rate limits (bench/rate_limits.py measures those).
        "LOYALTY_RATE_LIMIT_ENABLED": "true" if rate_limits else "false",
    }
    if not jobs:
        env["LOYALTY_JOBS_INTERVAL_SECONDS"] = "0"
    return env


def start_server(
    data_dir: Path,
    db_url: str,
    *,
    redis_url: str = "",
    prefix: str | None = None,
    production: bool = False,
    jobs: bool = True,
    migrate: bool = True,
    rate_limits: bool = False,
    timeout: float = 60,
) -> Server:
    """`loyalty serve` as a subprocess (like tests/acceptance/conftest.py start_server) on
    db_url and redis_url ("" = embedded under data_dir), waiting until /health answers.
    The caller's LOYALTY_* variables are not passed on: the run is defined here alone.
    Rate limits are off unless asked for: a load generator sends as one credential what
    a whole shop or many members would (bench/rate_limits.py turns them on)."""
    port = free_port()
    prefix = prefix or new_prefix()
    log = data_dir / "server.log"
    env = service_env(
        data_dir,
        db_url,
        redis_url=redis_url,
        prefix=prefix,
        production=production,
        jobs=jobs,
        rate_limits=rate_limits,
    )
    env["LOYALTY_PORT"] = str(port)
    command = [sys.executable, "-m", "server.cli", "serve"]
    profile = os.environ.get("LOYALTY_BENCH_PROFILE")  # a file: cProfile the server into it
    if profile:
        command[1:1] = ["-m", "cProfile", "-o", str(Path(profile).resolve())]
    if not migrate:
        command.append("--no-migrate")
    process = subprocess.Popen(
        command, cwd=str(data_dir), env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return Server(url, db_url, process, log, redis_url, prefix)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start:\n{log.read_text()}")


def stop_server(server: Server) -> None:
    if os.environ.get("LOYALTY_BENCH_PROFILE"):
        # uvicorn re-raises SIGTERM after shutting down, which would lose the profile;
        # after SIGINT it ends with KeyboardInterrupt and cProfile still writes its file.
        server.process.send_signal(signal.SIGINT)
    else:
        server.process.terminate()
    try:
        server.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@asynccontextmanager
async def running_server(
    data_dir: Path, db_url: str, *, clean_redis: bool = True, **options: Any
) -> AsyncIterator[Server]:
    """start_server() ... stop_server(), then delete the server's Redis keys (clean_redis)."""
    server = start_server(data_dir, db_url, **options)
    try:
        yield server
    finally:
        stop_server(server)
        if clean_redis:
            await delete_redis_keys(server.redis_url, server.prefix)


@asynccontextmanager
async def fresh_server(
    tag: str, *, db_url: str | None = None, redis_url: str | None = None, **options: Any
) -> AsyncIterator[Server]:
    """The server in a temporary directory on a fresh database() (unless db_url is given)
    and LOYALTY_BENCH_REDIS_URL (unless redis_url is given); see start_server() for options."""
    redis_url = bench_redis_url() if redis_url is None else redis_url
    with tempfile.TemporaryDirectory(prefix="loyalty-bench-") as tmp:
        async with (
            database(Path(tmp), tag) as fresh_db_url,
            running_server(
                Path(tmp), db_url or fresh_db_url, redis_url=redis_url, **options
            ) as server,
        ):
            yield server


def http_client(url: str, clients: int, timeout: float = 60) -> httpx.AsyncClient:
    """One keep-alive connection per client (plus two spare)."""
    limits = httpx.Limits(max_connections=clients + 2, max_keepalive_connections=clients + 2)
    return httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits)


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    key: str = INTEGRATION,
    *,
    payload_errors: bool = False,
) -> Any:
    """POST one GraphQL request; raise on GraphQL errors (and, with payload_errors, on a
    single mutation payload's `errors`). Returns `data`."""
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {key}"},
    )
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    if payload_errors:
        [payload] = body["data"].values()
        if isinstance(payload, dict) and payload.get("errors"):
            raise RuntimeError(payload["errors"])
    return body["data"]


async def enrol_members(
    client: httpx.AsyncClient, count: int, prefix: str = "bench-", batch: int = 20
) -> None:
    """Members `{prefix}0` .. `{prefix}{count-1}`, `batch` enrolments at a time."""
    for start in range(0, count, batch):
        await asyncio.gather(
            *(
                gql(
                    client,
                    ENROL,
                    {"i": {"externalId": f"{prefix}{n}", "displayName": f"Bench {n}"}},
                    payload_errors=True,
                )
                for n in range(start, min(count, start + batch))
            )
        )


async def member_token(client: httpx.AsyncClient, external_id: str) -> str:
    data = await gql(client, TOKEN, {"e": external_id})
    return str(data["issueMemberToken"]["token"])


# -- load and percentiles ----------------------------------------------------------------


def percentile(samples: list[float], p: float) -> float:
    """The sample at rank int(p% of n) of the sorted samples (the largest for small n)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, int(p / 100 * len(ordered))))]


@dataclass
class Load(Generic[T]):
    """What run_load() measured: seconds per request, wall time, each request's result."""

    latencies: list[float]
    elapsed: float
    results: list[T] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.count / self.elapsed

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 99) * 1000

    @property
    def mean_ms(self) -> float:
        return statistics.mean(self.latencies) * 1000

    def line(self) -> str:
        return f"  p50: {self.p50_ms:.1f} ms   p99: {self.p99_ms:.1f} ms"


async def run_load(
    request: Callable[[int], Awaitable[T]],
    *,
    clients: int,
    count: int | None = None,
    seconds: float | None = None,
) -> Load[T]:
    """`clients` concurrent loops calling request(n) for n = 0, 1, 2 ... until `count`
    requests were made or `seconds` passed; each call's latency is timed around it alone."""
    if (count is None) == (seconds is None):
        raise ValueError("give count or seconds")
    numbers: Iterator[int] = iter(range(count)) if count is not None else _naturals()
    stop = time.perf_counter() + seconds if seconds is not None else float("inf")
    latencies: list[float] = []
    results: list[T] = []

    async def worker() -> None:
        for n in numbers:
            if time.perf_counter() >= stop:
                return
            began = time.perf_counter()
            result = await request(n)
            latencies.append(time.perf_counter() - began)
            results.append(result)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return Load(latencies=latencies, elapsed=time.perf_counter() - began, results=results)


def _naturals() -> Iterator[int]:
    n = 0
    while True:
        yield n
        n += 1
