"""Reading a board: top N, the viewer's own standing and the standings around it.

A member who chose to be hidden still ranks, but what others see of them is an anonymous
name and an id made from the rank alone, so it cannot be followed back to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core import clock, sql
from core.errors import InvalidInput
from game.leaderboards import definitions, store
from game.leaderboards.store import Standing
from game.leaderboards.windows import Period, window

MAX_FIRST = 100
MAX_RADIUS = 50
ANONYMOUS_NAME = "Anonymous"


@dataclass(frozen=True)
class PublicView:
    id: str
    display_name: str
    tier_code: str | None = None


@dataclass(frozen=True, slots=True)
class Face:
    """What a board may show of a member, unless they hide."""

    id: int
    display_name: str
    leaderboard_hidden: bool


async def faces(member_ids: list[int]) -> dict[int, Face]:
    """What a board shows of these members (id, name, whether they hide), in one query
    (plain rows: a board page is read far more often than anything else)."""
    if not member_ids:
        return {}
    ids_sql, params = sql.id_list(member_ids, 1)
    found = await sql.rows(
        f"SELECT id, display_name, leaderboard_hidden FROM member WHERE id {ids_sql}", params
    )
    return {
        int(r["id"]): Face(int(r["id"]), r["display_name"], bool(r["leaderboard_hidden"]))
        for r in found
    }


def public_view(member: Face | None, rank: int, tier_code: str | None) -> PublicView:
    if member is None or member.leaderboard_hidden:
        return PublicView(f"anonymous-{rank}", ANONYMOUS_NAME, None)
    return PublicView(str(member.id), member.display_name, tier_code)


@dataclass
class BoardView:
    key: str
    period: Period
    period_key: str
    participants: int
    entries: list[Standing]
    me: Standing | None = None
    around: list[Standing] = field(default_factory=list)
    # How far around `me` was fetched; a wider aroundMe reads again.
    radius: int = -1
    member_id: int | None = None
    # False for live snapshots, which carry no viewer: `me` is read when asked for.
    me_loaded: bool = True
    # Public faces already resolved (live snapshots), by rank.
    publics: dict[int, PublicView] = field(default_factory=dict)
    # The API's one in-flight load of public faces for this view, shared by its fields.
    loading: Any = None
    # Whether the faces carry tier codes (the API loads them only when asked).
    tier_codes: bool = True

    def around_me(self, radius: int) -> list[Standing]:
        if self.me is None:
            return []
        return [s for s in self.around if abs(s.rank - self.me.rank) <= radius]


def check_first(first: int, field_name: str = "first") -> None:
    if not 0 <= first <= MAX_FIRST:
        raise InvalidInput(f"first must be 0..{MAX_FIRST}", field_name)


def check_radius(radius: int) -> None:
    if not 0 <= radius <= MAX_RADIUS:
        raise InvalidInput(f"radius must be 0..{MAX_RADIUS}", "radius")


async def read(
    key: str,
    period: Period,
    first: int,
    member_id: int | None = None,
    radius: int = -1,
) -> BoardView:
    """One board window now: NOT_FOUND for an unknown key, INVALID_INPUT past the caps."""
    check_first(first)
    if radius >= 0:
        check_radius(radius)
    board = await definitions.get_board(key)
    w = window(period, clock.now(), await store.current_zone())
    part = await store.read(board.key, w.key, first, member_id, radius)
    return BoardView(
        key=board.key,
        period=period,
        period_key=w.key,
        participants=part.participants,
        entries=part.top,
        me=part.me,
        around=part.around,
        radius=radius,
        member_id=member_id,
    )


async def me(view: BoardView) -> Standing | None:
    if not view.me_loaded and view.member_id is not None:
        part = await store.read(view.key, view.period_key, 0, view.member_id, -1)
        view.me, view.me_loaded = part.me, True
    return view.me


async def around_me(view: BoardView, radius: int) -> list[Standing]:
    """aroundMe(radius): from what was fetched, or one more read when asked wider."""
    check_radius(radius)
    if view.member_id is None:
        return []
    if radius > view.radius:
        part = await store.read(view.key, view.period_key, 0, view.member_id, radius)
        view.me, view.me_loaded = part.me, True
        view.around, view.radius = part.around, radius
    return view.around_me(radius)
