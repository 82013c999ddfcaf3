"""Stamp cards: a stamp per matching action, a reward when the card is full, then a fresh card.

A new card already carries `prestamped` stamps (the endowed head start). With onePerDay a
member gets at most one stamp per local day on a card. Like missions, an action stamps
every matching card with a fixed number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from core import clock, validation
from core.errors import InvalidInput, NotFound
from core.events import unit_of_work
from game import action_types
from game import rewards as game_rewards
from game.models import MemberStampCard, StampCard
from members.models import Member
from rewards.badges import BadgeAward

MAX_SLOTS = 100


@dataclass
class StampCardData:
    name: str
    action_type: str
    slots: int
    reward: game_rewards.Reward
    prestamped: int = 0
    one_per_day: bool = False


@dataclass
class CardView:
    card: StampCard
    stamps: int
    slots: int
    completed_count: int


async def create(data: StampCardData) -> StampCard:
    name = validation.text(data.name, "input.name", max_len=200)
    if not await action_types.known(data.action_type):
        raise NotFound(f"no action type {data.action_type!r}", "input.actionType")
    if not 1 <= data.slots <= MAX_SLOTS:
        raise InvalidInput(f"slots must be 1..{MAX_SLOTS}", "input.slots")
    if not 0 <= data.prestamped < data.slots:
        raise InvalidInput("prestamped must be 0..slots-1", "input.prestamped")
    reward = await game_rewards.validate(data.reward, "input.reward")
    async with unit_of_work():
        return await StampCard.create(
            name=name,
            action_type=data.action_type,
            slots=data.slots,
            prestamped=data.prestamped,
            one_per_day=data.one_per_day,
            created_at=clock.now(),
            **reward.columns(),
        )


async def all_cards() -> list[StampCard]:
    return await StampCard.all().order_by("id")


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


async def stamp(
    member: Member, action_type: str, day: date, credits: game_rewards.Credits | None = None
) -> Stamped:
    """Stamp the member's cards for one action (inside its unit of work, member locked)."""
    result = Stamped()
    cards = await StampCard.filter(action_type=action_type)
    if not cards:
        return result
    held = {
        c.card_id: c
        for c in await MemberStampCard.filter(
            member_id=member.id, card_id__in=[c.id for c in cards]
        )
    }
    now = clock.now()
    changed: list[MemberStampCard] = []
    for card in cards:
        mine = held.get(card.id)
        if mine is None:
            mine = MemberStampCard(
                card_id=card.id,
                member_id=member.id,
                stamps=card.prestamped,
                completed_count=0,
                updated_at=now,
            )
        if card.one_per_day and mine.last_stamp_day == day:
            continue
        mine.stamps += 1
        mine.last_stamp_day = day
        mine.updated_at = now
        if mine.stamps >= card.slots:
            mine.completed_count += 1
            mine.stamps = card.prestamped  # a fresh card, with its head start
            result.completed.append(card)
        changed.append(mine)
    if changed:
        await MemberStampCard.bulk_create(
            changed,
            on_conflict=["member_id", "card_id"],
            update_fields=["stamps", "completed_count", "last_stamp_day", "updated_at"],
        )
    for card in result.completed:
        granted = await game_rewards.grant(
            member.id,
            game_rewards.Reward.of(card),
            f"stamp_card:{card.id}",
            f"Stamp card: {card.name}",
            credits,
        )
        result.points += granted.points
        result.badges.extend(granted.badges)
    return result
