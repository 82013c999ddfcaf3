"""The `loyalty` command: serve, migrate, create-api-key, seed-demo, run-jobs and more.

Areas add commands with `@command(...)`; each gets an initialised database and Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from pydantic import ValidationError

from core.db import tortoise_config
from core.security import Role, create_api_key
from core.settings import ConfigError, Settings, get_settings

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int | None]]
COMMANDS: dict[str, tuple[str, Command, Callable[[argparse.ArgumentParser], None] | None]] = {}


def command(
    name: str, help: str, arguments: Callable[[argparse.ArgumentParser], None] | None = None
) -> Callable[[Command], Command]:
    def register(fn: Command) -> Command:
        COMMANDS[name] = (help, fn, arguments)
        return fn

    return register


async def migrate(settings: Settings) -> None:
    from tortoise import Tortoise
    from tortoise.migrations.api import migrate as run_migrations

    url = settings.effective_database_url
    if url.startswith("sqlite://"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        await run_migrations(config=tortoise_config(url))
    finally:
        # An open aiosqlite connection keeps a thread alive: a failed run would hang.
        await Tortoise.close_connections()


def _banner(settings: Settings) -> None:
    base = f"http://{settings.host}:{settings.port}"
    print(f"loyalty: serving GraphQL at {base}/graphql", flush=True)
    if not settings.production:
        print(f"  GraphiQL:        {base}/graphql", flush=True)
        print(f"  admin key:       {settings.admin_key}", flush=True)
        print(f"  integration key: {settings.integration_key}", flush=True)
        print(f"  database:        {settings.effective_database_url}", flush=True)
        print(f"  redis:           {settings.redis_url or 'embedded (under data dir)'}", flush=True)


def serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from server.app import create_app

    if args.host:
        settings.host = args.host
    if args.port:
        settings.port = args.port
    settings.require_secrets()
    if not args.no_migrate:
        asyncio.run(migrate(settings))
    _banner(settings)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info" if not settings.production else "warning",
        ws_per_message_deflate=False,  # deflate triples memory per socket; payloads are small
        ws_max_size=settings.max_body_bytes,  # the HTTP body cap holds for socket messages too
        lifespan="on",
    )
    return 0


async def _with_services(fn: Command, args: argparse.Namespace, settings: Settings) -> int:
    from server.app import start, stop

    try:
        await start(settings)
        return (await fn(args, settings)) or 0
    finally:
        # Also after a failed start: an open database connection would keep the process alive.
        await stop()


@command("migrate", "apply database migrations")
async def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    await migrate(settings)
    print("migrations applied")
    return 0


def _key_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--role", choices=["admin", "integration"], required=True)
    parser.add_argument("--label", default="")


@command("create-api-key", "create an API key (stored hashed, printed once)", _key_arguments)
async def _create_key(args: argparse.Namespace, settings: Settings) -> int:
    key = await create_api_key(Role(args.role.upper()), args.label)
    print(key)
    return 0


@command("run-jobs", "run every scheduled job once (pending points, expiry, tiers, ...)")
async def _run_jobs(args: argparse.Namespace, settings: Settings) -> int:
    from server import jobs

    for name, result in (await jobs.run_all()).items():
        print(f"{name}: {result}")
    return 0


@command("worker", "run the scheduled jobs forever, without serving (for multi-process setups)")
async def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from server import jobs

    # Jobs are idempotent, so a worker beside servers that also run them does no harm.
    await jobs.loop(settings.jobs_interval_seconds or 30.0)
    return 0


@command("seed-demo", "fill the database with a believable demo shop")
async def _seed(args: argparse.Namespace, settings: Settings) -> int:
    from server.demo import seed

    print(await seed())
    return 0


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    parser = argparse.ArgumentParser(prog="loyalty", description="Loyalty & gamification API")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_parser = sub.add_parser("serve", help="migrate, then serve the API")
    serve_parser.add_argument("--host")
    serve_parser.add_argument("--port", type=int)
    serve_parser.add_argument("--no-migrate", action="store_true")
    _load_area_commands()
    for name, (help_text, _, arguments) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        if arguments:
            arguments(p)
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"LOYALTY_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        print(f"loyalty: invalid setting: {problems}", file=sys.stderr)
        sys.exit(2)
    try:
        if args.command == "serve":
            sys.exit(serve(args, settings))
        _, fn, _ = COMMANDS[args.command]
        if args.command == "migrate":
            sys.exit(asyncio.run(fn(args, settings)) or 0)
        settings.require_secrets()
        sys.exit(asyncio.run(_with_services(fn, args, settings)))
    except ConfigError as exc:
        print(f"loyalty: {exc}", file=sys.stderr)
        sys.exit(2)


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
]


if __name__ == "__main__":
    # Run the imported module, not __main__: area modules register their commands on
    # server.cli's COMMANDS, which would otherwise be a second copy.
    from server.cli import main as canonical_main

    canonical_main()
