"""The two baselines every hot-path figure stands beside, served like the service is.

- `bare`: a Starlette app whose POST /graphql reads the JSON body and answers a fixed
  trackAction-shaped JSON response: what HTTP, uvicorn and Starlette cost alone.
- `ceiling`: strawberry (ParserCache and ValidationCache as extension classes, as the
  service has them) with a `trackAction(input: TrackActionInput!)` mutation that runs one
  asyncpg `INSERT ... ON CONFLICT (idempotency_key) DO NOTHING` per request on one
  connection held for the process's life (an asyncio.Lock takes turns on it: asyncpg runs
  one query at a time per connection): the stack's ceiling for a write.
- the same `ceiling` app's read shapes: Query fields `me`, `myMissions` and `leaderboard`
  with the real schema's names, types and arguments for what bench/hotpaths.py's HOME and
  LEADERBOARD queries select (nothing more), answered from memory after ONE asyncpg SELECT
  per request (a primary-key read of the one row of `bench_ceiling_member`; when a query
  has several root fields the first to ask runs it and the others await it): `me` with a
  tier and the shop's one badge, `myMissions` the shop's --missions (50) mission progress
  entries, `leaderboard` first-N entries with a member's displayName, `me`, and aroundMe
  (5 entries at radius 2). Ordinary strawberry types and resolvers, nothing hand-tuned:
  what the stack costs for the response's shape (graphql-core completing every field).
  Authorization headers are ignored.

Both run under uvicorn with the service's options (httptools/uvloop as installed, per-message
deflate off, log level warning, one worker). Both accept the hot-path trackAction body, so
one wrk script drives them and the service alike; the ceiling also answers the HOME and
LEADERBOARD query scripts.

    python -m bench.baselines bare --port 8001
    python -m bench.baselines ceiling --port 8002 --dsn postgresql://postgres@127.0.0.1/db \
        [--missions 50]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import enum
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
MEMBER_TABLE = """CREATE TABLE IF NOT EXISTS bench_ceiling_member (
    id integer PRIMARY KEY,
    points_balance integer NOT NULL,
    tier_points integer NOT NULL)"""
MEMBER_ROW = """INSERT INTO bench_ceiling_member (id, points_balance, tier_points)
VALUES (1, 1250, 640) ON CONFLICT (id) DO NOTHING"""
SELECT = "SELECT points_balance, tier_points FROM bench_ceiling_member WHERE id = $1"
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

    async def member_row(self) -> Any:
        async with self.lock:
            return await self.connection.fetchrow(SELECT, 1)


database = Database()


# -- the read shapes: the real schema's names and types for what HOME and LEADERBOARD select


@strawberry.type
class Badge:
    code: str


@strawberry.type
class BadgeAward:
    badge: Badge


@strawberry.type
class Tier:
    code: str


@strawberry.type
class Member:
    points_balance: int
    tier_points: int
    tier: Tier | None
    badges: list[BadgeAward]


@strawberry.type
class MissionProgress:
    progress: float
    target: float
    completed: bool


@strawberry.type
class PublicMember:
    display_name: str


@strawberry.type
class LeaderboardEntry:
    rank: int
    score: float
    member: PublicMember


@strawberry.enum
class LeaderboardPeriod(enum.Enum):
    ALL_TIME = "ALL_TIME"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"


@strawberry.type
class Leaderboard:
    entries: list[LeaderboardEntry]
    me: LeaderboardEntry | None
    around: strawberry.Private[list[LeaderboardEntry]]  # me and 5 above and below

    @strawberry.field
    def around_me(self, radius: int = 2) -> list[LeaderboardEntry]:
        middle = len(self.around) // 2
        return self.around[max(0, middle - radius) : middle + radius + 1]


def entry(rank: int) -> LeaderboardEntry:
    member = PublicMember(display_name=f"Board Member {rank}")
    return LeaderboardEntry(rank=rank, score=float(100_000 - rank), member=member)


class Memory:
    """What the read fields answer: built once, like a cache's contents."""

    def __init__(self, missions: int = 50) -> None:
        self.tier = Tier(code="SILVER")
        self.badges = [BadgeAward(badge=Badge(code="bench"))]
        # As the shop's missions (bench/fixtures.py): the first, target 1, completed; the
        # others COUNT and SUM alternately towards targets nobody reaches in a run.
        self.missions = [MissionProgress(progress=1.0, target=1.0, completed=True)] + [
            MissionProgress(
                progress=float(40 if n % 2 else 120),
                target=float(10_000 + n if n % 2 else 1_000_000 + n),
                completed=False,
            )
            for n in range(1, missions)
        ]
        self.top = [entry(rank) for rank in range(1, 101)]
        self.around = [entry(rank) for rank in range(500_000 - 5, 500_000 + 6)]


class Context:
    """Per request: what the read fields answer, and the one SELECT, run by the first root
    field that asks for it."""

    def __init__(self, memory: Memory) -> None:
        self.memory = memory
        self.row: asyncio.Future[Any] | None = None

    async def member_row(self) -> Any:
        if self.row is None:
            self.row = asyncio.ensure_future(database.member_row())
        return await self.row


@strawberry.type
class Query:
    """The ceiling's reads: HOME's and LEADERBOARD's selections, from memory after one SELECT."""

    @strawberry.field
    def ok(self) -> bool:
        return True

    @strawberry.field
    async def me(self, info: strawberry.Info[Context, None]) -> Member:
        row = await info.context.member_row()
        memory = info.context.memory
        return Member(
            points_balance=row["points_balance"],
            tier_points=row["tier_points"],
            tier=memory.tier,
            badges=memory.badges,
        )

    @strawberry.field
    async def my_missions(
        self, info: strawberry.Info[Context, None], include_completed: bool | None = True
    ) -> list[MissionProgress]:
        await info.context.member_row()
        missions = info.context.memory.missions
        if include_completed is False:
            return [m for m in missions if not m.completed]
        return missions

    @strawberry.field
    async def leaderboard(
        self,
        info: strawberry.Info[Context, None],
        key: str,
        period: LeaderboardPeriod = LeaderboardPeriod.ALL_TIME,
        first: int = 10,
    ) -> Leaderboard:
        await info.context.member_row()
        memory = info.context.memory
        return Leaderboard(
            entries=memory.top[:first],
            me=memory.around[len(memory.around) // 2],
            around=memory.around,
        )


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def track_action(self, input: TrackActionInput) -> TrackActionPayload:
        inserted = await database.insert(input)
        return TrackActionPayload(
            points_awarded=5 if inserted else 0, duplicate=not inserted, errors=[]
        )


class CeilingGraphQL(GraphQL[Context, None]):
    def __init__(self, schema: strawberry.Schema, memory: Memory) -> None:
        super().__init__(schema, graphql_ide=None, allow_queries_via_get=False)
        self.memory = memory

    async def get_context(self, request: Any, response: Any) -> Context:
        return Context(self.memory)


def ceiling_app(dsn: str, missions: int = 50) -> Starlette:
    import asyncpg

    schema = strawberry.Schema(
        query=Query, mutation=Mutation, extensions=[ParserCache, ValidationCache]
    )
    graphql = CeilingGraphQL(schema, Memory(missions))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        database.connection = await asyncpg.connect(dsn)
        await database.connection.execute(TABLE)
        await database.connection.execute(MEMBER_TABLE)
        await database.connection.execute(MEMBER_ROW)
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
    parser.add_argument("--missions", type=int, default=50, help="myMissions entries (ceiling)")
    args = parser.parse_args()
    if args.app == "ceiling" and not args.dsn:
        parser.error("ceiling needs --dsn")
    app = bare_app() if args.app == "bare" else ceiling_app(args.dsn, args.missions)
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
