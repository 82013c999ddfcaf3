"""Tracking actions: one reported action becomes points, mission progress, stamps and badges.

`track` runs in ONE unit of work under the member's lock (their ledger account row, the
same lock the ledger takes, so an order and an action of one member never deadlock):
replay a repeated idempotency key, apply the daily cap, credit the action's points
(base x promotion x tier multiplier, floored), advance missions and stamp cards, grant
rewards, store the action with its answer. After commit the events go out in one Redis
pipeline: ActionTracked (leaderboards), MissionProgressed, BadgeAwarded, PointsChanged.

Actions earn no tier points: tiers qualify on spend (orders), so that cheap, repeatable
engagement cannot buy a tier.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from core import clock, validation
from core.errors import Forbidden, IdempotencyConflict, InvalidInput
from core.events import emit, unit_of_work
from game import action_types, stamp_cards
from game import rewards as game_rewards
from game.missions import progress as mission_progress
from game.missions.definitions import by_ids, check_attributes
from game.missions.progress import ProgressView
from game.models import Action, ActionType
from game.targeting import Audience
from members import service as members
from members.models import Member
from members.program import get_program
from rewards.badges import BadgeAward

# A phone's clock may run a little ahead of ours; beyond this an occurredAt is "future".
CLOCK_SKEW = timedelta(seconds=60)
MAX_VALUE = Decimal("1e12")


@dataclass
class ActionTracked:
    """Plain event for the leaderboards (ACTION_COUNT / ACTION_VALUE boards)."""

    member_id: int
    action_type: str
    value: float
    occurred_at: datetime
    at: datetime


@dataclass
class TrackResult:
    points_awarded: int = 0
    missions: list[ProgressView] = field(default_factory=list)
    badges: list[BadgeAward] = field(default_factory=list)
    duplicate: bool = False


def _value(value: float | Decimal | int) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise InvalidInput("value must be a number", "input.value") from exc
    if not number.is_finite() or not 0 <= number <= MAX_VALUE:
        raise InvalidInput("value must be between 0 and 1e12", "input.value")
    return number.quantize(Decimal("0.0001"))


def _occurred(occurred_at: datetime | None, now: datetime) -> datetime:
    if occurred_at is None:
        return now
    if occurred_at.tzinfo is None:
        occurred_at = occurred_at.replace(tzinfo=UTC)
    if occurred_at > now + CLOCK_SKEW:
        raise InvalidInput("occurredAt cannot be in the future", "input.occurredAt")
    return occurred_at


def _fingerprint(
    member_id: int,
    action_type: str,
    value: Decimal,
    attributes: dict[str, Any] | None,
    occurred_at: datetime | None,
) -> str:
    content = json.dumps(
        [
            member_id,
            action_type,
            str(value.normalize()),
            attributes or {},
            occurred_at.astimezone(UTC).isoformat() if occurred_at else None,
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(content.encode()).hexdigest()


async def report(
    *,
    caller_member_id: int | None,
    member_external_id: str | None,
    action_type: str,
    idempotency_key: str,
    value: float = 1,
    attributes: Any = None,
    occurred_at: datetime | None = None,
) -> TrackResult:
    """trackAction: staff name the member; a member reports clientReportable types, own only."""
    if caller_member_id is not None:
        member = await members.get_member(caller_member_id)
        if member_external_id is not None and member_external_id != member.external_id:
            raise Forbidden("a member reports only their own actions", "input.memberExternalId")
    else:
        if not member_external_id:
            raise InvalidInput(
                "memberExternalId is required with an API key", "input.memberExternalId"
            )
        member = await members.get_by_external_id(member_external_id)
    return await track(
        member.id,
        action_type,
        idempotency_key=idempotency_key,
        value=value,
        attributes=attributes,
        occurred_at=occurred_at,
        by_member=caller_member_id is not None,
    )


async def track(
    member_id: int,
    action_type: str,
    *,
    idempotency_key: str,
    value: float | Decimal | int = 1,
    attributes: Any = None,
    occurred_at: datetime | None = None,
    by_member: bool = False,
) -> TrackResult:
    """Record one action of `member_id` (see the module docstring). Retry-safe by key."""
    key = validation.text(idempotency_key, "input.idempotencyKey", max_len=200)
    amount = _value(value)
    attributes = check_attributes(attributes, "input.attributes")
    if action_type == action_types.ORDER:
        raise InvalidInput("orders are recorded with recordOrder", "input.type")
    kind = await action_types.get(action_type)
    if by_member and not kind.client_reportable:
        raise Forbidden("members may not report this action type", "input.type")
    now = clock.now()
    at = _occurred(occurred_at, now)
    fingerprint = _fingerprint(member_id, kind.key, amount, attributes, occurred_at)
    async with unit_of_work():
        member = await _lock(member_id)
        first = await Action.get_or_none(member_id=member_id, idempotency_key=key)
        if first is not None:
            return await _replay(first, fingerprint)
        return await _record(member, kind, key, fingerprint, amount, attributes, at, now)


async def _lock(member_id: int) -> Member:
    from rewards.ledger import accounts

    await accounts.lock_member(member_id)
    return await members.get_member(member_id)


async def _replay(first: Action, fingerprint: str) -> TrackResult:
    if first.fingerprint != fingerprint:
        raise IdempotencyConflict(
            "this idempotencyKey was used for another action", "input.idempotencyKey"
        )
    stored = first.result or {}
    snapshots = stored.get("missions", [])
    missions = await by_ids([s["missionId"] for s in snapshots])
    codes = stored.get("badges", [])
    awards = (
        await BadgeAward.filter(member_id=first.member_id, badge__code__in=codes).select_related(
            "badge"
        )
        if codes
        else []
    )
    return TrackResult(
        points_awarded=int(stored.get("points", 0)),
        missions=[
            ProgressView.from_snapshot(missions[s["missionId"]], s)
            for s in snapshots
            if s["missionId"] in missions
        ],
        badges=list(awards),
        duplicate=True,
    )


async def _record(
    member: Member,
    kind: ActionType,
    key: str,
    fingerprint: str,
    value: Decimal,
    attributes: dict[str, Any] | None,
    occurred_at: datetime,
    now: datetime,
) -> TrackResult:
    """Inside the unit of work, member locked: points, missions, stamps, the action row."""
    zone = (await get_program()).timezone
    day = clock.local(occurred_at, zone).date()
    result = TrackResult()
    credits = game_rewards.Credits()
    earned = False
    if kind.points > 0 and kind.key != action_types.ORDER:
        earned = kind.daily_cap is None or (
            await Action.filter(
                member_id=member.id, action_type=kind.key, day=day, earned=True
            ).count()
            < kind.daily_cap
        )
        if earned:
            result.points_awarded = await _action_points(member, kind, occurred_at)
            if result.points_awarded:
                credits.add(member.id, result.points_awarded, "ACTION", kind.name)
    audience = Audience(member)
    moved = await mission_progress.advance(
        member, kind.key, value, attributes, occurred_at, zone, audience, credits
    )
    stamped = await stamp_cards.stamp(member, kind.key, day, credits)
    result.missions = moved.views
    result.badges = moved.badges + stamped.badges
    await Action.create(
        member_id=member.id,
        action_type=kind.key,
        value=value,
        attributes=attributes,
        occurred_at=occurred_at,
        day=day,
        earned=earned,
        points_awarded=result.points_awarded,
        idempotency_key=key,
        fingerprint=fingerprint,
        result={
            "points": result.points_awarded,
            "missions": [v.snapshot() for v in result.missions],
            "badges": [b.badge.code for b in result.badges],
        },
        created_at=now,
    )
    await credits.post()  # last: the issuance row stays locked until commit
    emit(ActionTracked(member.id, kind.key, float(value), occurred_at, now))
    return result


async def _action_points(member: Member, kind: ActionType, at: datetime) -> int:
    """Base points x promotion x tier multiplier, floored once (rounding favours the program)."""
    from rewards import earning

    multiplier = await earning.multiplier(member, kind.key, at)
    return max(math.floor(Decimal(kind.points) * Decimal(multiplier)), 0)


async def count_order(
    member_id: int,
    order_id: str,
    amount: Decimal,
    channel: str | None,
    occurred_at: datetime,
) -> None:
    """The built-in `order` action of a recorded order, inside the order's unit of work."""
    key = f"order:{order_id}"[:200]
    async with unit_of_work():
        member = await _lock(member_id)
        if await Action.filter(member_id=member_id, idempotency_key=key).exists():
            return
        attributes = {"channel": channel} if channel else None
        amount = Decimal(amount).quantize(Decimal("0.0001"))
        fingerprint = _fingerprint(member_id, action_types.ORDER, amount, attributes, occurred_at)
        await _record(
            member,
            action_types.builtin_order(),
            key,
            fingerprint,
            amount,
            attributes,
            occurred_at,
            clock.now(),
        )


async def on_order_completed(event: Any) -> None:
    """Reaction to rewards.orders.OrderCompleted, wired in server/wiring.py with `within`."""
    await count_order(
        event.member_id, event.order_id, event.amount, event.channel, event.occurred_at
    )
