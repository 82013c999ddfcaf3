"""The two baselines every hot-path figure stands beside, served like the service is.

- `bare`: a Starlette app whose POST /graphql reads the JSON body and answers a fixed
  trackAction-shaped JSON response: what HTTP, uvicorn and Starlette cost alone.
- `ceiling`: strawberry (ParserCache and ValidationCache as extension classes, as the
  service has them) with a `trackAction(input: TrackActionInput!)` mutation that runs one
  asyncpg `INSERT ... ON CONFLICT (idempotency_key) DO NOTHING` per request on one
  connection held for the process's life (an asyncio.Lock takes turns on it: asyncpg runs
  one query at a time per connection): the stack's ceiling for a write.

Both run under uvicorn with the service's options (httptools/uvloop as installed, per-message
deflate off, log level warning, one worker). Both accept the hot-path trackAction body, so
one wrk script drives them and the service alike.

    python -m bench.baselines bare --port 8001
    python -m bench.baselines ceiling --port 8002 --dsn postgresql://postgres@127.0.0.1/db
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import strawberry
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache

ANSWER = {"data": {"trackAction": {"pointsAwarded": 5, "duplicate": False, "errors": []}}}

TABLE = """CREATE TABLE IF NOT EXISTS bench_ceiling (
    idempotency_key text PRIMARY KEY,
    member_external_id text NOT NULL,
    type text NOT NULL,
    value double precision NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now())"""
INSERT = """INSERT INTO bench_ceiling (idempotency_key, member_external_id, type, value)
VALUES ($1, $2, $3, $4) ON CONFLICT (idempotency_key) DO NOTHING"""


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def bare_app() -> Starlette:
    async def graphql(request: Request) -> JSONResponse:
        await request.json()
        return JSONResponse(ANSWER)

    return Starlette(
        routes=[Route("/graphql", graphql, methods=["POST"]), Route("/health", health)]
    )


@strawberry.input
class TrackActionInput:
    type: str
    idempotency_key: str
    member_external_id: str | None = None
    value: float = 1.0
    attributes: strawberry.scalars.JSON | None = None


@strawberry.type
class UserError:
    code: str
    message: str
    field: str | None = None


@strawberry.type
class TrackActionPayload:
    points_awarded: int
    duplicate: bool
    errors: list[UserError]


class Database:
    """One asyncpg connection held for the process's life, used one query at a time."""

    def __init__(self) -> None:
        self.connection: Any = None
        self.lock = asyncio.Lock()

    async def insert(self, action: TrackActionInput) -> bool:
        async with self.lock:
            status = await self.connection.execute(
                INSERT,
                action.idempotency_key,
                action.member_external_id or "",
                action.type,
                action.value,
            )
        return bool(status == "INSERT 0 1")


database = Database()


@strawberry.type
class Query:
    @strawberry.field
    def ok(self) -> bool:
        return True


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def track_action(self, input: TrackActionInput) -> TrackActionPayload:
        inserted = await database.insert(input)
        return TrackActionPayload(
            points_awarded=5 if inserted else 0, duplicate=not inserted, errors=[]
        )


def ceiling_app(dsn: str) -> Starlette:
    import asyncpg

    schema = strawberry.Schema(
        query=Query, mutation=Mutation, extensions=[ParserCache, ValidationCache]
    )
    graphql = GraphQL[None, None](schema, graphql_ide=None, allow_queries_via_get=False)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        database.connection = await asyncpg.connect(dsn)
        await database.connection.execute(TABLE)
        try:
            yield
        finally:
            await database.connection.close()

    return Starlette(
        routes=[Route("/graphql", graphql, methods=["POST"]), Route("/health", health)],
        lifespan=lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("app", choices=["bare", "ceiling"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", default="", help="PostgreSQL DSN (ceiling)")
    args = parser.parse_args()
    if args.app == "ceiling" and not args.dsn:
        parser.error("ceiling needs --dsn")
    app = bare_app() if args.app == "bare" else ceiling_app(args.dsn)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        ws_per_message_deflate=False,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
