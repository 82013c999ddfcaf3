"""Tracking actions: one reported action becomes points, mission progress, stamps and badges.

`track` runs in ONE unit of work with a fixed number of statements whatever the number of
live missions, stamp cards and badges:

1. lock the member (rewards/member_state.lock), which in the same round trip tells whether
   the idempotency key was used, how many points-earning actions of the type the member
   had that local day, and the definitions' version (the definitions come from memory);
2. read the member's progress rows and cards for the type's live missions and cards;
3. at the unit's end, one statement per table: mission progress, cards, badges, the ledger
   (issuance shards, accounts, postings, lots), the member's state, the action, the outbox.

A repeated idempotency key replays the stored answer. After commit the relay sends the
leaderboard changes and the live events (MissionProgressed, BadgeAwarded, PointsChanged).

Who may backdate: a member reports what happens now (occurredAt within CLOCK_SKEW of the
server's clock, either way); staff may report up to MAX_BACKDATE ago. Daily caps count
per local day of occurredAt in the program's zone either way.

Actions earn no tier points: tiers qualify on spend (orders), so that cheap, repeatable
engagement cannot buy a tier.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from core import clock, definitions, sql, validation
from core.errors import Forbidden, IdempotencyConflict, InvalidInput
from core.events import Buffer, buffer, emit, unit_of_work
from game import action_types, stamp_cards
from game.missions import progress as mission_progress
from game.missions.definitions import by_ids, check_attributes
from game.missions.events import SNAPSHOT_KEYS
from game.missions.progress import ProgressView
from game.models import ActionType
from members.program import get_program
from rewards import earning
from rewards.badges.models import BadgeAward
from rewards.ledger import service as ledger
from rewards.ledger.reasons import Reason
from rewards.ledger.retry import retrying
from rewards.member_state import Peek, State, Target, face_peek, lock

# A phone's clock may run a little ahead of (or behind) ours; members report what happens now.
CLOCK_SKEW = timedelta(seconds=60)
# How far back staff may report (a back office catching up, an import of last year's actions).
MAX_BACKDATE = timedelta(days=366)
MAX_VALUE = Decimal("1e12")
MAX_ACTION_TYPE = 64


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
    moved: list[mission_progress.Moved] = field(default_factory=list)
    badges: list[BadgeAward] = field(default_factory=list)
    duplicate: bool = False

    @property
    def missions(self) -> list[ProgressView]:
        """The missions the action moved, as views (built when asked for)."""
        return [ProgressView.from_packed(m, values) for m, values in self.moved]


def _value(value: float | Decimal | int) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise InvalidInput("value must be a number", "value") from exc
    if not number.is_finite() or not 0 <= number <= MAX_VALUE:
        raise InvalidInput("value must be between 0 and 1e12", "value")
    return number.quantize(Decimal("0.0001"))


def occurred(occurred_at: datetime | None, now: datetime, *, by_member: bool) -> datetime:
    """When the action happened: members report now (give or take a phone's clock skew),
    staff may backdate up to MAX_BACKDATE; nobody reports the future."""
    if occurred_at is None:
        return now
    if occurred_at.tzinfo is None:
        occurred_at = occurred_at.replace(tzinfo=UTC)
    if occurred_at > now + CLOCK_SKEW:
        raise InvalidInput("occurredAt cannot be in the future", "occurred_at")
    if by_member and occurred_at < now - CLOCK_SKEW:
        raise InvalidInput(
            "members report actions as they happen: occurredAt must be now", "occurred_at"
        )
    if occurred_at < now - MAX_BACKDATE:
        raise InvalidInput(f"occurredAt may be at most {MAX_BACKDATE.days} days ago", "occurred_at")
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


@dataclass(frozen=True)
class Reported:
    """One action as the caller sent it (trackAction's input, an item of trackActions or of
    `loyalty import`), before any check."""

    action_type: str
    idempotency_key: str
    member_external_id: str | None = None
    value: float | int = 1
    attributes: Any = None
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class Report:
    """One trackAction as reported, checked for form (not yet against the definitions)."""

    action_type: str
    idempotency_key: str
    value: Decimal
    attributes: dict[str, Any] | None
    occurred_at: datetime | None


def check(
    action_type: str,
    idempotency_key: str,
    value: float | Decimal | int = 1,
    attributes: Any = None,
    occurred_at: datetime | None = None,
) -> Report:
    if action_type == action_types.ORDER:
        raise InvalidInput("orders are recorded with recordOrder", "action_type")
    action_type = action_type.strip()
    if not 1 <= len(action_type) <= MAX_ACTION_TYPE:
        # Clients call it the action's `type` (trackAction's input).
        raise InvalidInput(f"type must be 1..{MAX_ACTION_TYPE} characters", "action_type")
    return Report(
        action_type=action_type,
        idempotency_key=validation.text(idempotency_key, "idempotency_key", max_len=200),
        value=_value(value),
        attributes=check_attributes(attributes, "attributes"),
        occurred_at=occurred_at,
    )


def check_reported(reported: Reported, caller_member_id: int | None) -> Report:
    """`reported` checked for form; staff (no caller member) must name the member."""
    checked = check(
        reported.action_type,
        reported.idempotency_key,
        reported.value,
        reported.attributes,
        reported.occurred_at,
    )
    if caller_member_id is None and not reported.member_external_id:
        raise InvalidInput("memberExternalId is required with an API key", "member_external_id")
    return checked


async def report(reported: Reported, *, caller_member_id: int | None) -> TrackResult:
    """trackAction: staff name the member; a member reports clientReportable types, own only."""
    return await record(
        check_reported(reported, caller_member_id),
        member_id=caller_member_id,
        external_id=reported.member_external_id,
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
    checked = check(action_type, idempotency_key, value, attributes, occurred_at)
    return await record(checked, member_id=member_id, by_member=by_member)


def _peeks(item: Report, day: date, check_external_id: bool) -> list[Peek]:
    own = [Peek("external_id", "SELECT external_id FROM member WHERE id = $m")]
    return own * check_external_id + [
        Peek(
            "first",
            "SELECT fingerprint || '|' || id FROM game_action"
            " WHERE member_id = $m AND idempotency_key = $1",
            [item.idempotency_key],
        ),
        Peek(
            "earned_today",
            "SELECT COUNT(*) FROM game_action WHERE member_id = $m AND action_type = $1"
            " AND day = $2 AND earned = TRUE",
            [item.action_type, day],
        ),
    ]


async def record(
    item: Report,
    *,
    member_id: int | None = None,
    external_id: str | None = None,
    by_member: bool = False,
) -> TrackResult:
    """Record a checked action in one unit of work (see the module docstring); run again
    whole if PostgreSQL picked it as a deadlock victim or its draw on the budget fell short."""
    return await retrying(lambda: _record(item, member_id, external_id, by_member))


async def _record(
    item: Report, member_id: int | None, external_id: str | None, by_member: bool
) -> TrackResult:
    ready = await prepare(item, by_member)
    async with unit_of_work():
        admitted = await admit(ready, member_id, external_id, by_member)
        if isinstance(admitted, TrackResult):
            return admitted
        return await admitted.apply()


@dataclass(frozen=True)
class Prepared:
    """What an action reads before its unit's first statement: when it happened, and what
    to read with the lock (its missions' progress and its stamp cards, as this process last
    saw the definitions; the lock reads their version, and if it moved the rules are
    reloaded and what the peeks missed is read again)."""

    item: Report
    now: datetime
    at: datetime
    zone: str
    prefetch: mission_progress.Prefetch | None
    card_ids: frozenset[int]


async def prepare(item: Report, by_member: bool) -> Prepared:
    now = clock.now()
    at = occurred(item.occurred_at, now, by_member=by_member)
    known = await definitions.hint()
    zone = known["program"].timezone
    prefetch = mission_progress.prefetch_for(item.action_type, known["missions"], at, zone)
    card_ids = frozenset(c.id for c in known["stamp_cards"] if c.action_type == item.action_type)
    return Prepared(item, now, at, zone, prefetch, card_ids)


@dataclass
class Admitted:
    """An action that passed every check, its member locked: `apply()` records it."""

    state: State
    kind: ActionType
    ready: Prepared
    fingerprint: str
    zone: str
    day: date
    earned_before: int

    async def apply(self) -> TrackResult:
        ready = self.ready
        cards = (set(ready.card_ids), self.state.peeks.get("cards")) if ready.card_ids else None
        return await _apply(
            self.state,
            self.kind,
            ready.item,
            self.fingerprint,
            ready.at,
            ready.now,
            self.zone,
            self.day,
            self.earned_before,
            ready.prefetch,
            cards,
        )


def target(ready: Prepared, member_id: int | None, external_id: str | None) -> Target:
    """The member to lock for the action, with what it reads in the same statement."""
    item = ready.item
    day = clock.local(ready.at, ready.zone).date()
    peeks = _peeks(item, day, member_id is not None and external_id is not None)
    if ready.prefetch is not None:
        peeks.append(ready.prefetch.peek())
        peeks.append(face_peek())  # a mission it completes sends the member a message
    if ready.card_ids:
        peeks.append(stamp_cards.peek(sorted(ready.card_ids)))
    return Target(
        member_id,
        None if member_id is not None else external_id,
        peeks,
        "member_external_id",
    )


async def admit(
    ready: Prepared,
    member_id: int | None,
    external_id: str | None,
    by_member: bool,
    state: State | None = None,
) -> Admitted | TrackResult:
    """Inside the unit: lock the member (unless `state` is its lock, taken with the peeks
    of `target()`) and check the action. A refusal (DomainError) is raised before anything
    is buffered; a repeated key answers its stored result."""
    item, at, zone = ready.item, ready.at, ready.zone
    day = clock.local(at, zone).date()
    if state is None:
        locking = target(ready, member_id, external_id)
        state = await lock(
            locking.member_id,
            external_id=locking.external_id,
            peeks=locking.peeks,
            field_name=locking.field_name,
        )
    own = state.peeks.get("external_id", external_id)
    if member_id is not None and external_id is not None and own != external_id:
        raise Forbidden("a member reports only their own actions", "member_external_id")
    fingerprint = _fingerprint(
        state.member_id, item.action_type, item.value, item.attributes, item.occurred_at
    )
    first = state.peeks["first"]
    if first is not None:
        return await _replay(state.member_id, str(first), fingerprint)
    kind = await action_types.get(item.action_type)
    if by_member and not kind.client_reportable:
        raise Forbidden("members may not report this action type", "action_type")
    program = await get_program()
    if program.timezone != zone:  # the zone changed since we looked: count that day
        zone = program.timezone
        day = clock.local(at, zone).date()
        state.peeks["earned_today"] = await _earned_on(state.member_id, kind.key, day)
    earned_before = int(state.peeks["earned_today"] or 0)
    return Admitted(state, kind, ready, fingerprint, zone, day, earned_before)


async def _earned_on(member_id: int, action_type: str, day: date) -> int:
    found = await sql.row(
        "SELECT COUNT(*) AS n FROM game_action WHERE member_id = $1 AND action_type = $2"
        " AND day = $3 AND earned = TRUE",
        [member_id, action_type, day],
    )
    return int(found["n"]) if found else 0


async def _replay(member_id: int, first: str, fingerprint: str) -> TrackResult:
    stored_fingerprint, _, action_id = first.partition("|")
    if stored_fingerprint != fingerprint:
        raise IdempotencyConflict(
            "this idempotencyKey was used for another action", "idempotency_key"
        )
    found = await sql.row("SELECT result FROM game_action WHERE id = $1", [int(action_id)])
    stored = sql.decode_json(found["result"]) if found else {}
    # "packed": ProgressView.packed() lists; "missions": the snapshots rows stored before.
    packed = stored.get("packed") or [
        [s.get(k) for k in SNAPSHOT_KEYS] for s in stored.get("missions", [])
    ]
    missions = await by_ids([values[0] for values in packed])
    codes = stored.get("badges", [])
    awards = (
        await BadgeAward.filter(member_id=member_id, badge__code__in=codes).select_related("badge")
        if codes
        else []
    )
    return TrackResult(
        points_awarded=int(stored.get("points", 0)),
        moved=[(missions[values[0]], values) for values in packed if values[0] in missions],
        badges=list(awards),
        duplicate=True,
    )


async def _apply(
    state: State,
    kind: ActionType,
    item: Report,
    fingerprint: str,
    occurred_at: datetime,
    now: datetime,
    zone: str,
    day: date,
    earned_before: int,
    prefetch: mission_progress.Prefetch | None = None,
    cards: tuple[set[int], Any] | None = None,
) -> TrackResult:
    """Inside the unit of work, member locked: points, missions, stamps, the action row."""
    result = TrackResult()
    earned = False
    if kind.points > 0 and kind.key != action_types.ORDER:
        earned = kind.daily_cap is None or earned_before < kind.daily_cap
        if earned:
            multiplier = await earning.multiplier(state, kind.key, occurred_at)
            result.points_awarded = max(math.floor(Decimal(kind.points) * multiplier), 0)
            if result.points_awarded:
                await ledger.credit(
                    state.member_id, result.points_awarded, Reason.ACTION, description=kind.name
                )
    moved = await mission_progress.advance(
        state, kind.key, item.value, item.attributes, occurred_at, zone, prefetch
    )
    stamped = await stamp_cards.stamp(state.member_id, kind.key, day, cards)
    result.moved = moved.moved
    result.badges = moved.badges + stamped.badges
    buffer(ActionWrites).rows.append(
        (
            state.member_id,
            kind.key,
            item.value,
            sql.json_param(item.attributes) if item.attributes is not None else None,
            occurred_at,
            day,
            earned,
            result.points_awarded,
            item.idempotency_key,
            fingerprint,
            # {"points", "packed", "badges"}: the missions' lists as the live message has them
            f'{{"points":{result.points_awarded},"packed":{moved.packed_json},'
            f'"badges":{sql.json_param([b.badge.code for b in result.badges])}}}',
            now,
        )
    )
    emit(ActionTracked(state.member_id, kind.key, float(item.value), occurred_at, now))
    return result


class ActionWrites(Buffer):
    """The unit's tracked actions, inserted in one statement."""

    order: ClassVar[int] = 70
    COLUMNS: ClassVar[list[tuple[str, str]]] = [
        ("member_id", "int"),
        ("action_type", "text"),
        ("value", "numeric"),
        ("attributes", "json"),
        ("occurred_at", "timestamp"),
        ("day", "date"),
        ("earned", "bool"),
        ("points_awarded", "int"),
        ("idempotency_key", "text"),
        ("fingerprint", "text"),
        ("result", "json"),
        ("created_at", "timestamp"),
    ]

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []

    async def flush(self) -> list[sql.Statement] | None:
        if not self.rows:
            return None
        source, params = sql.values(self.COLUMNS, self.rows, 1)
        names = [n for n, _ in self.COLUMNS]
        picks = ", ".join(
            f"v.{n}::jsonb" if kind == "json" and sql.dialect() == "postgres" else f"v.{n}"
            for n, kind in self.COLUMNS
        )
        return [
            (
                f"INSERT INTO game_action ({', '.join(names)}) SELECT {picks} FROM ({source}) AS v",
                params,
            )
        ]


async def count_order(
    member_id: int,
    order_id: str,
    amount: Decimal,
    channel: str | None,
    occurred_at: datetime,
) -> None:
    """The built-in `order` action of a recorded order, inside the order's unit of work (the
    order's own idempotency makes this run once per order)."""
    key = f"order:{order_id}"[:200]
    attributes = {"channel": channel} if channel else None
    value = Decimal(amount).quantize(Decimal("0.0001"))
    item = Report(action_types.ORDER, key, value, attributes, occurred_at)
    async with unit_of_work():
        state = await lock(member_id)
        zone = (await get_program()).timezone
        fingerprint = _fingerprint(member_id, action_types.ORDER, value, attributes, occurred_at)
        await _apply(
            state,
            action_types.builtin_order(),
            item,
            fingerprint,
            occurred_at,
            clock.now(),
            zone,
            clock.local(occurred_at, zone).date(),
            0,
        )


async def on_order_completed(event: Any) -> None:
    """Reaction to rewards.orders.OrderCompleted, wired in server/wiring.py with `within`."""
    await count_order(
        event.member_id, event.order_id, event.amount, event.channel, event.occurred_at
    )
