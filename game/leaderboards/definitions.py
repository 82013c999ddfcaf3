"""The boards: what each ranks (metric, action type) and the built-in `points` board.

`points` (POINTS_EARNED) always exists, whether or not a row was ever written; admins add
more with upsert(). Definitions live in the database (the source of truth) and are mirrored
into Redis by store.py, so every process's after-commit Lua script sees the same boards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from core import clock, definitions, validation
from core.errors import InvalidInput, NotFound
from core.events import unit_of_work
from game import action_types
from game.leaderboards.models import LeaderboardDefinition

POINTS = "points"
_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class Metric(Enum):
    POINTS_EARNED = "POINTS_EARNED"
    TIER_POINTS = "TIER_POINTS"
    ACTION_COUNT = "ACTION_COUNT"
    ACTION_VALUE = "ACTION_VALUE"

    @property
    def per_action(self) -> bool:
        return self in (Metric.ACTION_COUNT, Metric.ACTION_VALUE)


@dataclass(frozen=True)
class Board:
    key: str
    name: str
    metric: Metric
    action_type: str | None = None

    @property
    def spec(self) -> str:
        """How the Lua update script reads the board: 'METRIC|action_type'."""
        return f"{self.metric.value}|{self.action_type or ''}"


BUILTIN = Board(POINTS, "Points earned", Metric.POINTS_EARNED)


def _board(row: LeaderboardDefinition) -> Board:
    return Board(row.key, row.name, Metric(row.metric), row.action_type)


async def load_definitions() -> tuple[Board, ...]:
    """The snapshot's part: every board, `points` first."""
    rows = {r.key: _board(r) for r in await LeaderboardDefinition.all().order_by("id")}
    points = rows.pop(POINTS, BUILTIN)
    return (points, *rows.values())


async def all_boards() -> list[Board]:
    """Every board, `points` first."""
    return list((await definitions.get())["boards"])


async def get_board(key: str, field: str = "key") -> Board:
    found = next((b for b in await all_boards() if b.key == key), None)
    if found is None:
        raise NotFound(f"no leaderboard {key!r}", field)
    return found


async def validate(board: Board) -> Board:
    key = board.key.strip()
    if not _KEY.match(key):
        raise InvalidInput(
            "key must be 1..64 lowercase letters, digits or . _ - (starting with a letter "
            "or digit)",
            "key",
        )
    name = validation.text(board.name, "name", max_len=100)
    action_type = (board.action_type or "").strip() or None
    if board.metric.per_action:
        if action_type is None:
            raise InvalidInput(f"{board.metric.value} needs an actionType", "action_type")
        if not await action_types.known(action_type):
            raise InvalidInput(f"unknown action type {action_type!r}", "action_type")
    elif action_type is not None:
        raise InvalidInput(
            "actionType applies only to ACTION_COUNT and ACTION_VALUE", "action_type"
        )
    if key == POINTS and board.metric is not Metric.POINTS_EARNED:
        raise InvalidInput("the built-in `points` board ranks POINTS_EARNED", "metric")
    return Board(key, name, board.metric, action_type)


async def upsert(board: Board) -> tuple[Board, bool]:
    """Create or change a board; returns it and whether what it ranks changed (rebuild it)."""
    board = await validate(board)
    now = clock.now()
    async with unit_of_work():
        await definitions.changed()
        row = await LeaderboardDefinition.select_for_update().get_or_none(key=board.key)
        if row is None:
            before = BUILTIN if board.key == POINTS else None
            await LeaderboardDefinition.create(
                key=board.key,
                name=board.name,
                metric=board.metric.value,
                action_type=board.action_type,
                created_at=now,
                updated_at=now,
            )
        else:
            before = _board(row)
            await LeaderboardDefinition.filter(id=row.id).update(
                name=board.name,
                metric=board.metric.value,
                action_type=board.action_type,
                updated_at=now,
            )
    changed = before is None or before.spec != board.spec
    return board, changed
