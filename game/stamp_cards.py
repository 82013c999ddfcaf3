"""Stamp cards: a stamp per matching action, a reward when the card is full, then a fresh card.

A new card already carries `prestamped` stamps (the endowed head start). With onePerDay a
member gets at most one stamp per local day on a card. Like missions, an action stamps
every matching card with a fixed number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar

from core import clock, definitions, sql, validation
from core.errors import InvalidInput, NotFound
from core.events import Buffer, buffer, unit_of_work
from game import action_types, grants
from game.models import MemberStampCard, StampCard
from rewards.badges.models import BadgeAward
from rewards.member_state import Peek

MAX_SLOTS = 100


@dataclass
class StampCardData:
    name: str
    action_type: str
    slots: int
    reward: grants.Reward
    prestamped: int = 0
    one_per_day: bool = False


@dataclass
class CardView:
    card: StampCard
    stamps: int
    slots: int
    completed_count: int


async def create(data: StampCardData) -> StampCard:
    name = validation.text(data.name, "name", max_len=200)
    if not await action_types.known(data.action_type):
        raise NotFound(f"no action type {data.action_type!r}", "action_type")
    if not 1 <= data.slots <= MAX_SLOTS:
        raise InvalidInput(f"slots must be 1..{MAX_SLOTS}", "slots")
    if not 0 <= data.prestamped < data.slots:
        raise InvalidInput("prestamped must be 0..slots-1", "prestamped")
    reward = await grants.validate(data.reward, "reward")
    async with unit_of_work():
        await definitions.changed()
        return await StampCard.create(
            name=name,
            action_type=data.action_type,
            slots=data.slots,
            prestamped=data.prestamped,
            one_per_day=data.one_per_day,
            created_at=clock.now(),
            **reward.columns(),
        )


async def load_definitions() -> tuple[StampCard, ...]:
    """The snapshot's part: every stamp card by id."""
    return tuple(await StampCard.all().order_by("id"))


async def all_cards() -> list[StampCard]:
    return list((await definitions.get())["stamp_cards"])


async def my_cards(member_id: int) -> list[CardView]:
    cards = await all_cards()
    held = {c.card_id: c for c in await MemberStampCard.filter(member_id=member_id)}
    views = []
    for card in cards:
        mine = held.get(card.id)
        views.append(
            CardView(
                card=card,
                stamps=mine.stamps if mine else card.prestamped,
                slots=card.slots,
                completed_count=mine.completed_count if mine else 0,
            )
        )
    return views


@dataclass
class Stamped:
    points: int = 0
    badges: list[BadgeAward] = field(default_factory=list)
    completed: list[StampCard] = field(default_factory=list)


_CARD_JSON = {
    "postgres": (
        "COALESCE(json_agg(json_build_array(card_id, stamps, completed_count,"
        " last_stamp_day)), '[]')"
    ),
    "sqlite": (
        "COALESCE(json_group_array(json_array(card_id, stamps, completed_count,"
        " last_stamp_day)), '[]')"
    ),
}


def peek(card_ids: list[int]) -> Peek:
    """The member's cards among these, read with the member's lock (the "cards" peek)."""
    where, params = sql.id_list(card_ids, 1)
    return Peek(
        "cards",
        f"SELECT {_CARD_JSON[sql.dialect()]} FROM member_stamp_card"
        f" WHERE member_id = $m AND card_id {where}",
        params,
    )


async def stamp(
    member_id: int, action_type: str, day: date, peeked: tuple[set[int], Any] | None = None
) -> Stamped:
    """Stamp the member's cards for one action (inside its unit of work, member locked):
    the member's cards of the type come from the lock's peek (`peeked`: the card ids it
    covered and its value) or one read; one upsert at the unit's end."""
    result = Stamped()
    cards = [c for c in await all_cards() if c.action_type == action_type]
    if not cards:
        return result
    if peeked is not None and {c.id for c in cards} <= peeked[0]:
        found = [
            {"card_id": r[0], "stamps": r[1], "completed_count": r[2], "last_stamp_day": r[3]}
            for r in sql.decode_json(peeked[1]) or []
        ]
    else:
        where, params = sql.id_list([c.id for c in cards], 2)
        found = await sql.rows(
            "SELECT card_id, stamps, completed_count, last_stamp_day FROM member_stamp_card"
            f" WHERE member_id = $1 AND card_id {where}",
            [member_id, *params],
        )
    held = {int(r["card_id"]): r for r in found}
    now = clock.now()
    writes = buffer(CardWrites)
    for card in cards:
        mine = held.get(card.id)
        stamps = int(mine["stamps"]) if mine else card.prestamped
        completed = int(mine["completed_count"]) if mine else 0
        last = sql.decode_date(mine["last_stamp_day"]) if mine else None
        if card.one_per_day and last == day:
            continue
        stamps += 1
        if stamps >= card.slots:
            completed += 1
            stamps = card.prestamped  # a fresh card, with its head start
            result.completed.append(card)
        writes.rows[(member_id, card.id)] = (card.id, member_id, stamps, completed, day, now)
    for card in result.completed:
        granted = await grants.grant(
            member_id,
            grants.Reward.of(card),
            f"stamp_card:{card.id}",
            f"Stamp card: {card.name}",
        )
        result.points += granted.points
        result.badges.extend(granted.badges)
    return result


class CardWrites(Buffer):
    """The unit's stamped cards, new and existing alike, in one upsert."""

    order: ClassVar[int] = 35

    def __init__(self) -> None:
        self.rows: dict[tuple[int, int], tuple[int, int, int, int, date, datetime]] = {}

    async def flush(self) -> list[sql.Statement] | None:
        if not self.rows:
            return None
        source, params = sql.values(
            [
                ("card_id", "int"),
                ("member_id", "int"),
                ("stamps", "int"),
                ("completed_count", "int"),
                ("last_stamp_day", "date"),
                ("updated_at", "timestamp"),
            ],
            list(self.rows.values()),
            1,
        )
        return [
            (
                "INSERT INTO member_stamp_card (card_id, member_id, stamps, completed_count,"
                " last_stamp_day, updated_at) SELECT card_id, member_id, stamps, completed_count,"
                f" last_stamp_day, updated_at FROM ({source}) AS v WHERE TRUE"
                " ON CONFLICT (member_id, card_id) DO UPDATE SET stamps = excluded.stamps,"
                " completed_count = excluded.completed_count,"
                " last_stamp_day = excluded.last_stamp_day, updated_at = excluded.updated_at",
                params,
            )
        ]
