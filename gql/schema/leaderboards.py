"""Leaderboards: `leaderboard`, `leaderboards`, `upsertLeaderboard`, `setLeaderboardHidden`
and the `leaderboardUpdates` subscription."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, Iterable, Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from game.leaderboards import definitions, reading, rebuild, store, visibility
from game.leaderboards.definitions import Board, Metric
from game.leaderboards.live import live, view_of
from game.leaderboards.reading import BoardView, PublicView, public_view
from game.leaderboards.store import Standing
from game.leaderboards.windows import Period
from gql.context import Info
from gql.loaders import keyed
from gql.permissions import IsAdmin, IsMember, IsSignedIn
from gql.scalars import WholeNumber
from gql.schema.members import Member, MemberPayload, PublicMember
from gql.types import Payload, from_input, from_row, mutation

strawberry.enum(Period, name="LeaderboardPeriod")
strawberry.enum(Metric, name="LeaderboardMetric")

DEFAULT_RADIUS = 2


@contextlib.contextmanager
def _redis_errors() -> Iterator[None]:
    """Redis down: a clear, immediate top-level error instead of a hang."""
    try:
        yield
    except store.Unavailable as exc:
        raise GraphQLError(
            "leaderboards are temporarily unavailable; try again shortly",
            extensions={"code": "UNAVAILABLE"},
        ) from exc


def _public(view: PublicView) -> PublicMember:
    return PublicMember(
        id=strawberry.ID(view.id), display_name=view.display_name, tier_code=view.tier_code
    )


SCORE = (
    "Always a whole number: points, tier points, actions counted, or action values rounded "
    "half up per action, exact up to 2^53 - 1. Typed Float, as the contract has it, because "
    "GraphQL's Int stops at 2^31 - 1 while a score (an ACTION_VALUE board of VND amounts) "
    "goes past it; sent as a JSON integer (3404, not 3404.0), which is a valid Float."
)


@strawberry.type
class LeaderboardEntry:
    rank: int = strawberry.field(description="1-based; ties go to whoever reached the score first.")
    score: float = strawberry.field(description=SCORE)
    face: strawberry.Private[PublicView]

    @strawberry.field
    def member(self) -> PublicMember:
        return _public(self.face)


async def _faces(ids: list[int]) -> Iterable[tuple[int, reading.Face]]:
    return (await reading.faces(ids)).items()


async def _load_faces(missing: list[Standing], view: BoardView, info: Info) -> None:
    loaders = info.context.loaders
    ids = [s.member_id for s in missing]
    faces = loaders.extra.setdefault("leaderboard_faces", keyed(_faces))
    members = await faces.load_many(ids)
    codes: list[str | None] = [None] * len(ids)
    if view.tier_codes:  # only when the query asks for tierCode
        statuses = await loaders.tier_status.load_many(ids)
        codes = [s.tier.code if s and s.tier else None for s in statuses]
    for s, found, code in zip(missing, members, codes, strict=True):
        view.publics[s.rank] = public_view(found, s.rank, code)


async def _entries(
    standings: list[Standing], view: BoardView, info: Info
) -> list[LeaderboardEntry]:
    """Entries with their public faces, loaded for the whole view at once: one query per
    request (two when tierCode is asked), whatever the number of entries."""
    while view.loading is not None:  # entries, me and aroundMe share one load
        await view.loading
    wanted = [*standings, *view.entries, *([view.me] if view.me else []), *view.around]
    missing = list({s.rank: s for s in wanted if s.rank not in view.publics}.values())
    if missing:
        view.loading = asyncio.ensure_future(_load_faces(missing, view, info))
        try:
            await view.loading
        finally:
            view.loading = None
    return [
        LeaderboardEntry(rank=s.rank, score=WholeNumber(s.score), face=view.publics[s.rank])
        for s in standings
    ]


@strawberry.type
class Leaderboard:
    key: str
    period: Period
    period_key: str = strawberry.field(
        description="e.g. '2026-11-23', '2026-W48', '2026-11'; 'all' for ALL_TIME."
    )
    participants: int
    view: strawberry.Private[BoardView]

    @strawberry.field
    async def entries(self, info: Info) -> list[LeaderboardEntry]:
        return await _entries(self.view.entries, self.view, info)

    @strawberry.field(description="The member's own entry (member token); null when not ranked.")
    async def me(self, info: Info) -> LeaderboardEntry | None:
        with _redis_errors():
            mine = await reading.me(self.view)
        return (await _entries([mine], self.view, info))[0] if mine else None

    @strawberry.field(description="Entries around the member: radius above and below.")
    async def around_me(self, info: Info, radius: int = DEFAULT_RADIUS) -> list[LeaderboardEntry]:
        with _redis_errors():
            around = await reading.around_me(self.view, radius)
        return await _entries(around, self.view, info)


def _wanted_radius(info: Info) -> int:
    """How far around `me` the query asks (-1: `me` alone; -2: neither), to read it at once."""
    wanted = -2

    def visit(selections: list[Any]) -> None:
        nonlocal wanted
        for node in selections:
            if isinstance(node, SelectedField):
                if node.name == "aroundMe":
                    # literal arguments arrive as text, variables as values
                    try:
                        radius = int(node.arguments.get("radius", DEFAULT_RADIUS))
                    except (TypeError, ValueError):
                        continue
                    if 0 <= radius <= reading.MAX_RADIUS:
                        wanted = max(wanted, radius)
                elif node.name == "me":
                    wanted = max(wanted, -1)
            elif isinstance(node, (FragmentSpread, InlineFragment)):
                visit(node.selections)

    for field in info.selected_fields:
        visit(field.selections)
    return wanted


def _wants_tier_codes(info: Info) -> bool:
    """Whether any entry's member is asked for its tierCode (loading tiers costs a query)."""

    def visit(selections: list[Any]) -> bool:
        for node in selections:
            if isinstance(node, SelectedField):
                if node.name == "tierCode" or visit(node.selections):
                    return True
            elif isinstance(node, (FragmentSpread, InlineFragment)) and visit(node.selections):
                return True
        return False

    return any(visit(field.selections) for field in info.selected_fields)


# (operation, field's alias, variables) -> (the operation, what _wanted_radius and
# _wants_tier_codes say): ParserCache hands every request of the same query the same
# operation object, and walking its selection costs more than the rest of the resolver.
_facts: dict[tuple[int, str, str], tuple[Any, tuple[int, bool]]] = {}


def _selection_facts(info: Info) -> tuple[int, bool]:
    """_wanted_radius and _wants_tier_codes, worked out once per query and variables."""
    try:
        variables = json.dumps(info.variable_values, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return _wanted_radius(info), _wants_tier_codes(info)
    operation = info.operation
    key = (id(operation), str(info.path.key), variables)
    known = _facts.get(key)
    if known is not None and known[0] is operation:
        return known[1]
    facts = (_wanted_radius(info), _wants_tier_codes(info))
    if len(_facts) >= 512:
        _facts.clear()
    _facts[key] = (operation, facts)  # the operation kept: its id is not reused meanwhile
    return facts


@strawberry.type
class LeaderboardDefinition:
    key: str
    name: str
    metric: Metric
    action_type: str | None


@strawberry.input
class LeaderboardInput:
    key: str
    name: str
    metric: Metric
    action_type: str | None = None


@strawberry.type
class LeaderboardDefinitionPayload(Payload):
    leaderboard: LeaderboardDefinition | None = None


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[IsSignedIn])
    async def leaderboard(
        self, info: Info, key: str, period: Period = Period.ALL_TIME, first: int = 10
    ) -> Leaderboard:
        member_id = info.context.viewer.member_id
        wanted, tier_codes = _selection_facts(info)
        radius = wanted if member_id is not None else -2
        with _redis_errors():
            view = await reading.read(
                key, period, first, member_id if radius > -2 else None, max(radius, -1)
            )
        view.member_id = member_id
        view.me_loaded = radius > -2
        view.tier_codes = tier_codes
        return from_row(Leaderboard, view, view=view)

    @strawberry.field(permission_classes=[IsAdmin])
    async def leaderboards(self, info: Info) -> list[LeaderboardDefinition]:
        return [from_row(LeaderboardDefinition, b) for b in await definitions.all_boards()]


@strawberry.type
class Mutation:
    @mutation(IsAdmin)
    async def upsert_leaderboard(
        self, info: Info, input: LeaderboardInput
    ) -> LeaderboardDefinitionPayload:
        board = await rebuild.upsert_and_build(from_input(Board, input))
        return LeaderboardDefinitionPayload(leaderboard=from_row(LeaderboardDefinition, board))

    @mutation(IsMember)
    async def set_leaderboard_hidden(self, info: Info, hidden: bool) -> MemberPayload:
        member = await visibility.set_hidden(info.context.member_id, hidden)
        return MemberPayload(member=from_row(Member, member))


@strawberry.type
class Subscription:
    @strawberry.subscription(
        permission_classes=[IsSignedIn],
        description="A fresh top-N snapshot whenever the board changes (at most a few per second).",
    )
    async def leaderboard_updates(
        self, info: Info, key: str, period: Period = Period.ALL_TIME, first: int = 10
    ) -> AsyncGenerator[Leaderboard, None]:
        member_id = info.context.viewer.member_id
        tier_codes = _wants_tier_codes(info)
        with _redis_errors():
            async for snap in live.updates(key, period, first):
                view = view_of(snap, first, member_id)
                view.tier_codes = tier_codes
                yield from_row(Leaderboard, view, view=view)
