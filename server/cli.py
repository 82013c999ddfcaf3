"""The `loyalty` command: serve, migrate, create-api-key, seed-demo, run-jobs and more.

Areas add commands with `@command(...)`; each gets an initialised database and Redis
unless it says it needs none. A configuration mistake (a malformed setting, a database or
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
from pathlib import Path
from typing import Any

from core.db import tortoise_config
from core.security import Role, create_api_key
from core.settings import ConfigError, Settings, get_settings, mask_url
from server import logs, preflight

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int | None]]
Arguments = Callable[[argparse.ArgumentParser], None]


COMMANDS: dict[str, tuple[str, Command, Arguments | None]] = {}
# Commands that need neither the database nor Redis (the others get both opened first).
WITHOUT_SERVICES: set[str] = set()
# Commands that run until stopped log what they do; the others print a summary.
LONG_RUNNING = {"serve", "worker"}


def command(
    name: str, help: str, arguments: Arguments | None = None, *, services: bool = True
) -> Callable[[Command], Command]:
    def register(fn: Command) -> Command:
        COMMANDS[name] = (help, fn, arguments)
        if not services:
            WITHOUT_SERVICES.add(name)
        return fn

    return register


async def migrate(settings: Settings) -> None:
    from tortoise import Tortoise
    from tortoise.migrations.api import migrate as run_migrations

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
    from server import serving

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
        from core import redis

        # Stop the embedded Redis this process started (after its workers are gone).
        redis.stop_embedded()


async def _prepare(settings: Settings, redis_url: str, *, migrate_first: bool) -> None:
    await preflight.check_services(settings, redis_url)
    if migrate_first:
        await migrate(settings)


async def _with_services(name: str, args: argparse.Namespace, settings: Settings) -> int:
    from server.app import start, stop

    _, run, _ = COMMANDS[name]
    if name in WITHOUT_SERVICES:
        return (await run(args, settings)) or 0
    try:
        await start(settings)
        return (await run(args, settings)) or 0
    finally:
        # Also after a failed start: an open database connection would keep the process alive.
        await stop()


@command(
    "migrate",
    "apply the database migrations (serve does it too, unless --no-migrate)",
    services=False,
)
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


@command("create-api-key", "create an API key (stored hashed, printed once)", _key_arguments)
async def _create_key(args: argparse.Namespace, settings: Settings) -> int:
    key = await create_api_key(Role(args.role.upper()), args.label)
    print(key)
    return 0


@command("run-jobs", "run every scheduled job once (pending points, expiry, tiers, ...)")
async def _run_jobs(args: argparse.Namespace, settings: Settings) -> int:
    from server import jobs, lease

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


@command(
    "worker",
    "run the scheduled jobs until stopped, without serving (whichever process holds the "
    "jobs lease runs them)",
)
async def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from server import jobs, lease

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


@command("seed-demo", "fill the database with a year of a demo coffee shop (idempotent)")
async def _seed(args: argparse.Namespace, settings: Settings) -> int:
    from server.demo import seed

    print(await seed())
    return 0


def _schema_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output",
        "-o",
        default="docs/schema.graphql",
        help="file to write (default: docs/schema.graphql); '-' writes to stdout",
    )


@command(
    "export-schema",
    "write the served GraphQL schema (SDL) to docs/schema.graphql",
    _schema_arguments,
    services=False,
)
async def _export_schema(args: argparse.Namespace, settings: Settings) -> int:
    from server import schema_docs

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


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="loyalty", description="Loyalty & gamification API")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serving = sub.add_parser(
        "serve", help="migrate, then serve the API", description="migrate, then serve the API"
    )
    serving.add_argument("--host", help="address to bind (default: LOYALTY_HOST, 127.0.0.1)")
    serving.add_argument("--port", type=_port, help="port to bind (default: LOYALTY_PORT, 8000)")
    serving.add_argument(
        "--workers",
        type=_positive,
        help="server processes on the one port (default: LOYALTY_WORKERS; 1 in development, "
        "the CPU count in production)",
    )
    serving.add_argument(
        "--no-migrate",
        action="store_true",
        help="do not apply migrations first (when `loyalty migrate` runs separately)",
    )
    _load_area_commands()
    for name, (help_text, _, arguments) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if arguments:
            arguments(p)
    return top


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logs.configure("INFO" if args.command in LONG_RUNNING else "WARNING")
    try:
        settings = get_settings()
        if args.command == "serve":
            sys.exit(serve(args, settings))
        if args.command not in WITHOUT_SERVICES:
            settings.require_secrets()
        sys.exit(asyncio.run(_with_services(args.command, args, settings)))
    except ConfigError as exc:
        print(f"loyalty: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("loyalty: interrupted", file=sys.stderr)
        sys.exit(130)


def _load_area_commands() -> None:
    """Import the modules that register further commands (they call @command)."""
    import importlib

    for module in AREA_COMMAND_MODULES:
        importlib.import_module(module)


AREA_COMMAND_MODULES: list[str] = [
    "server.leaderboard_jobs",
    "server.engage_jobs",
    "server.spin_commands",
    "server.key_commands",
    "server.importing",
]


if __name__ == "__main__":
    # Run the imported module, not __main__: area modules register their commands on
    # server.cli's COMMANDS, which would otherwise be a second copy. Spawned server
    # workers import this file as __mp_main__ and must not run it.
    from server.cli import main as canonical_main

    canonical_main()
