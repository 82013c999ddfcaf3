"""The `loyalty` command: every command it has is listed once, in COMMANDS below.

Each command gets an initialised database and Redis unless its entry says it needs none;
`serve` runs its own event loop (uvicorn) and checks the services itself. An area's
commands live beside its jobs (server/*_jobs.py, server/*_commands.py, server/importing.py)
and import nothing from here. A configuration mistake (a malformed setting, a database or
Redis that does not answer, a busy port) is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.migrations.api import migrate as run_migrations

from core import redis
from core.db import tortoise_config
from core.security import Role, create_api_key
from core.settings import ConfigError, Settings, get_settings, mask_url
from server import (
    engage_jobs,
    importing,
    jobs,
    key_commands,
    leaderboard_jobs,
    lease,
    logs,
    preflight,
    schema_docs,
    serving,
    spin_commands,
)
from server.app import start, stop
from server.demo import seed

Run = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int | None]]
Arguments = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Command:
    help: str
    run: Run
    arguments: Arguments | None = None
    # False: needs neither the database nor Redis (the others get both opened first).
    services: bool = True
    # Runs until stopped and logs what it does; the others print a summary.
    long_running: bool = False


@dataclass(frozen=True)
class Serve:
    """`loyalty serve`: not run in an event loop of ours (uvicorn runs its own)."""

    help: str
    run: Callable[[argparse.Namespace, Settings], int]
    arguments: Arguments
    long_running: bool = True


async def migrate(settings: Settings) -> None:
    await preflight.check_database(settings)
    try:
        await run_migrations(config=tortoise_config(settings.effective_database_url))
    finally:
        # An open aiosqlite connection keeps a thread alive: a failed run would hang.
        await Tortoise.close_connections()


def _banner(settings: Settings, workers: int) -> None:
    base = f"http://{settings.host}:{settings.port}"
    processes = f" ({workers} worker processes)" if workers > 1 else ""
    lines = [f"loyalty: serving GraphQL at {base}/graphql{processes}"]
    if not settings.production:
        lines += [
            f"  GraphiQL:        {base}/graphql",
            f"  admin key:       {settings.admin_key}",
            f"  integration key: {settings.integration_key}",
            f"  database:        {mask_url(settings.effective_database_url)}",
            f"  redis:           {mask_url(settings.redis_url) or 'embedded (under data dir)'}",
        ]
    print("\n".join(lines), flush=True)


def serve(args: argparse.Namespace, settings: Settings) -> int:
    if args.host:
        settings.host = args.host
    if args.port:
        settings.port = args.port
    if args.workers:
        settings.workers = args.workers
    settings.require_secrets()
    # The port first: a busy one is the commonest mistake, and it is found in a millisecond.
    sock = preflight.bind(settings)
    try:
        redis_url = settings.redis_url or preflight.embedded_redis(settings)
        asyncio.run(_prepare(settings, redis_url, migrate_first=not args.no_migrate))
        return serving.run(settings, sock, redis_url, ready=_banner)
    finally:
        sock.close()
        # Stop the embedded Redis this process started (after its workers are gone).
        redis.stop_embedded()


async def _prepare(settings: Settings, redis_url: str, *, migrate_first: bool) -> None:
    await preflight.check_services(settings, redis_url)
    if migrate_first:
        await migrate(settings)


async def _with_services(command: Command, args: argparse.Namespace, settings: Settings) -> int:
    if not command.services:
        return (await command.run(args, settings)) or 0
    try:
        await start(settings)
        return (await command.run(args, settings)) or 0
    finally:
        # Also after a failed start: an open database connection would keep the process alive.
        await stop()


async def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    await migrate(settings)
    print(f"migrations applied to {mask_url(settings.effective_database_url)}")
    return 0


def _key_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--role",
        choices=["admin", "integration"],
        required=True,
        help="admin: designs the program; integration: the shop's back office (POS, app server)",
    )
    parser.add_argument(
        "--label", default="", help="a note saying who or what uses the key, e.g. 'pos quan1'"
    )


async def _create_key(args: argparse.Namespace, settings: Settings) -> int:
    key = await create_api_key(Role(args.role.upper()), args.label)
    print(key)
    return 0


async def _run_jobs(args: argparse.Namespace, settings: Settings) -> int:
    held = lease.for_database(settings.effective_database_url)
    if not await held.hold():
        holder = await held.holder()
        await held.release()
        print(
            f"loyalty: the scheduled jobs already run in process {holder or 'unknown'}, which "
            "holds the jobs lease; run-jobs did nothing",
            file=sys.stderr,
        )
        return 1
    try:
        results = await jobs.run_all()
    finally:
        await held.release()
    for line in jobs.summary(results):
        print(line)
    return 0 if len(results) == len(jobs.JOBS) else 1


async def _worker(args: argparse.Namespace, settings: Settings) -> int:
    interval = settings.jobs_interval_seconds or 30.0
    logging.getLogger("loyalty").info("worker: scheduled jobs every %g s", interval)
    running = asyncio.ensure_future(
        jobs.loop(interval, lease.for_database(settings.effective_database_url))
    )
    # SIGTERM or SIGINT: stop between jobs' statements, release the lease, close the
    # database and Redis (and the embedded Redis), rather than die mid-way.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(stop_signal, running.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await running
    logging.getLogger("loyalty").info("worker: stopped")
    return 0


async def _seed(args: argparse.Namespace, settings: Settings) -> int:
    print(await seed())
    return 0


def _schema_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output",
        "-o",
        default="docs/schema.graphql",
        help="file to write (default: docs/schema.graphql); '-' writes to stdout",
    )


async def _export_schema(args: argparse.Namespace, settings: Settings) -> int:
    text = schema_docs.export()
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    schema_docs.write(Path(args.output), text)
    print(f"wrote the schema to {args.output} ({len(text.splitlines())} lines)")
    return 0


def _port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (1..65535)")
    return port


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to bind (default: LOYALTY_HOST, 127.0.0.1)")
    parser.add_argument("--port", type=_port, help="port to bind (default: LOYALTY_PORT, 8000)")
    parser.add_argument(
        "--workers",
        type=_positive,
        help="server processes on the one port (default: LOYALTY_WORKERS; 1 in development, "
        "the CPU count in production)",
    )
    parser.add_argument(
        "--no-migrate",
        action="store_true",
        help="do not apply migrations first (when `loyalty migrate` runs separately)",
    )


# Every command, in the order `loyalty --help` lists them.
COMMANDS: dict[str, Command | Serve] = {
    "serve": Serve("migrate, then serve the API", serve, _serve_arguments),
    "migrate": Command(
        "apply the database migrations (serve does it too, unless --no-migrate)",
        _migrate,
        services=False,
    ),
    "create-api-key": Command(
        "create an API key (stored hashed, printed once)", _create_key, _key_arguments
    ),
    "run-jobs": Command(
        "run every scheduled job once (pending points, expiry, tiers, ...)", _run_jobs
    ),
    "worker": Command(
        "run the scheduled jobs until stopped, without serving (whichever process holds the "
        "jobs lease runs them)",
        _worker,
        long_running=True,
    ),
    "seed-demo": Command("fill the database with a year of a demo coffee shop (idempotent)", _seed),
    "export-schema": Command(
        "write the served GraphQL schema (SDL) to docs/schema.graphql",
        _export_schema,
        _schema_arguments,
        services=False,
    ),
    "rebuild-leaderboards": Command(
        "recompute every leaderboard from the database (each board swapped in atomically)",
        leaderboard_jobs.rebuild_boards,
    ),
    "rfm": Command(
        "score every member's RFM now (the job also does it hourly)", engage_jobs.score_rfm
    ),
    "verify-spin": Command(
        "re-check a spin result with the provably fair derivation",
        spin_commands.verify_spin,
        spin_commands.arguments,
    ),
    "revoke-api-key": Command(
        "revoke a stored API key (by its printed prefix)",
        key_commands.revoke,
        key_commands.arguments,
    ),
    "import": Command(
        "apply a JSON Lines file of orders and actions (back-office backfills), idempotently",
        importing.import_lines,
        importing.arguments,
    ),
}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="loyalty", description="Loyalty & gamification API")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.help, description=command.help)
        if command.arguments:
            command.arguments(p)
    return top


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    command = COMMANDS[args.command]
    logs.configure("INFO" if command.long_running else "WARNING")
    try:
        settings = get_settings()
        if isinstance(command, Serve):
            sys.exit(command.run(args, settings))
        if command.services:
            settings.require_secrets()
        sys.exit(asyncio.run(_with_services(command, args, settings)))
    except ConfigError as exc:
        print(f"loyalty: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("loyalty: interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
