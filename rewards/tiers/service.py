"""Tiers: their definitions, members' tier points, upgrades at once and gentle demotion.

A member's tier points are the sum of their TierPointEntry rows, all of them (LIFETIME)
or those earned in the last 365 days (ROLLING_YEAR); member_state keeps the counted sum
current (rewards/member_state.py). The tier they qualify for is the one with the highest
threshold at or below their points. The tier they HOLD is member_state.tier_code (null =
the starting tier): crossing a higher threshold moves them up at once (TierChanged);
falling below their tier's threshold starts a grace period (tierGraceDays), after which
the review job moves them down ONE tier and, if they are still below, gives them a new
grace period there. The only immediate demotion is a refund that undoes the order that
promoted them.

Definitions come from the in-memory snapshot (core/definitions.py); every tier change
bumps its version.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, Subquery

from core import clock, definitions, sql, validation
from core.errors import AlreadyExists, InvalidInput, NotFound
from core.events import Buffer, MemberEvent, buffer, emit, unit_of_work
from members.models import Program
from members.program import get_program
from rewards import member_state
from rewards.member_state import MemberState, State
from rewards.tiers.models import Tier, TierPointEntry

ROLLING_DAYS = member_state.ROLLING_DAYS
REVIEW_BATCH = 500
MAX_MULTIPLIER = Decimal(100)


# --------------------------------------------------------------------------- events


@dataclass
class TierChanged(MemberEvent):
    member_id: int
    from_code: str | None
    to_code: str | None
    at: datetime

    def message(self) -> dict[str, Any]:
        return {
            "type": "TierChanged",
            "from": self.from_code,
            "to": self.to_code,
            "at": self.at.isoformat(),
        }


@dataclass
class TierPointsChanged:
    """Tier points moved (earned or refunded); tier_points is the counted total after."""

    member_id: int
    delta: int
    tier_points: int
    at: datetime


# --------------------------------------------------------------------------- definitions


@dataclass
class TierData:
    code: str
    name: str
    threshold: int
    description: str | None = None
    earn_multiplier: Decimal = Decimal(1)
    voucher_discount_percent: Decimal = Decimal(0)
    price_list_code: str | None = None
    perks: list[str] = field(default_factory=list)


def _validate(data: TierData) -> dict[str, Any]:
    code = validation.text(data.code, "code", max_len=32)
    if not all(c.isalnum() or c in "_-" for c in code):
        raise InvalidInput("code may hold letters, digits, _ and -", "code")
    validation.non_negative(data.threshold, "threshold")
    multiplier = Decimal(str(data.earn_multiplier))
    if not Decimal(0) < multiplier <= MAX_MULTIPLIER:
        raise InvalidInput(
            f"earnMultiplier must be above 0 and at most {MAX_MULTIPLIER}", "earn_multiplier"
        )
    discount = validation.percent(
        Decimal(str(data.voucher_discount_percent)), "voucher_discount_percent"
    )
    validation.capped_list(data.perks, "perks", 50)
    return {
        "code": code,
        "name": validation.text(data.name, "name", max_len=100),
        "description": (
            validation.text(data.description, "description", min_len=0, max_len=2000) or None
            if data.description is not None
            else None
        ),
        "threshold": data.threshold,
        "earn_multiplier": multiplier,
        "voucher_discount_percent": discount,
        "price_list_code": (
            validation.text(data.price_list_code, "price_list_code", max_len=64)
            if data.price_list_code
            else None
        ),
        "perks": [validation.text(p, "perks", max_len=200) for p in data.perks],
    }


async def upsert_tier(data: TierData) -> Tier:
    """Create the tier with this code or replace its settings; thresholds stay unique."""
    values = _validate(data)
    async with unit_of_work():
        clash = (
            await Tier.filter(threshold=values["threshold"]).exclude(code=values["code"]).first()
        )
        if clash is not None:
            raise AlreadyExists(
                f"tier {clash.code} already has threshold {values['threshold']}", "threshold"
            )
        tier = await Tier.get_or_none(code=values["code"])
        try:
            if tier is None:
                tier = await Tier.create(**values)
            else:
                await Tier.filter(id=tier.id).update(**values)
                await tier.refresh_from_db()
        except IntegrityError as exc:  # a concurrent upsert took the code or threshold
            raise AlreadyExists("a tier with this code or threshold exists", "code") from exc
        await definitions.changed()
    # A new or lowered threshold moves members who now reach it up at once.
    await upgrade_qualified()
    return tier


async def delete_tier(code: str) -> Tier:
    """Remove a tier; members holding it now hold the tier below it."""
    async with unit_of_work():
        tier = await Tier.get_or_none(code=code.strip())
        if tier is None:
            raise NotFound(f"no tier {code!r}", "code")
        below = await Tier.filter(threshold__lt=tier.threshold).order_by("-threshold").first()
        await MemberState.filter(tier_code=tier.code).update(
            tier_code=below.code if below else None, promoted_by_order=None, tier_before=None
        )
        await MemberState.filter(tier_before=tier.code).update(tier_before=None)
        await tier.delete()
        await definitions.changed()
    return tier


async def load_definitions() -> tuple[Tier, ...]:
    """The snapshot's part: every tier by threshold."""
    return tuple(await Tier.all().order_by("threshold"))


async def list_tiers() -> list[Tier]:
    """Tiers by threshold, as the current write (or read) sees the definitions."""
    return list((await definitions.get())["tiers"])


async def tiers_by_code(codes: Iterable[str]) -> dict[str, Tier]:
    wanted = {c for c in codes if c}
    return {t.code: t for t in await list_tiers() if t.code in wanted}


# --------------------------------------------------------------------------- status


@dataclass
class TierStatus:
    tier_points: int
    tier: Tier | None
    next_tier: Tier | None
    tier_points_to_next: int
    grace_until: datetime | None


def qualified_tier(tiers: Sequence[Tier], points: int) -> Tier | None:
    """The tier with the highest threshold at or below `points` (tiers sorted by threshold)."""
    found = None
    for tier in tiers:
        if tier.threshold <= points:
            found = tier
    return found


def held_tier(tiers: Sequence[Tier], code: str | None, points: int) -> Tier | None:
    """The tier a member is in: the one they hold, unless they qualify for a higher one."""
    qualified = qualified_tier(tiers, points)
    held = next((t for t in tiers if t.code == code), None) if code else None
    if held is None or (qualified is not None and qualified.threshold > held.threshold):
        return qualified
    return held


def status_of(
    tiers: Sequence[Tier], code: str | None, grace_until: datetime | None, points: int
) -> TierStatus:
    tier = held_tier(tiers, code, points)
    floor = tier.threshold if tier else -1
    next_tier = next((t for t in tiers if t.threshold > floor), None)
    below = tier is not None and points < tier.threshold
    return TierStatus(
        tier_points=points,
        tier=tier,
        next_tier=next_tier,
        tier_points_to_next=max(0, next_tier.threshold - points) if next_tier else 0,
        grace_until=grace_until if below else None,
    )


def window_start(program: Program, at: datetime) -> datetime | None:
    if program.tier_window == "LIFETIME":
        return None
    return at - timedelta(days=ROLLING_DAYS)


async def tier_points(member_ids: list[int], program: Program | None = None) -> dict[int, int]:
    """Counted tier points per member now (never below zero)."""
    return {m: s.tier_points for m, s in (await statuses(member_ids)).items()}


async def statuses(member_ids: list[int]) -> dict[int, TierStatus]:
    """Tier fields for many members: one read of their state rows (the DataLoader's fetch);
    a member whose counted points went stale is recounted."""
    if not member_ids:
        return {}
    program = await get_program()
    tiers = await list_tiers()
    now = clock.now()
    since = window_start(program, now)
    where, params = sql.id_list(member_ids, 1)
    rows = await sql.rows(
        "SELECT member_id, tier_points, tier_points_until, tier_code, grace_until"
        f" FROM member_state WHERE member_id {where}",
        params,
    )
    found = {int(r["member_id"]): r for r in rows}
    result = {}
    for member_id in member_ids:
        row = found.get(member_id)
        if row is None:
            result[member_id] = status_of(tiers, None, None, 0)
            continue
        points = int(row["tier_points"])
        until = sql.decode_datetime(row["tier_points_until"])
        if until is not None and now >= until:
            points, _ = await member_state.recount(member_id, since)
        result[member_id] = status_of(
            tiers, row["tier_code"], sql.decode_datetime(row["grace_until"]), max(0, points)
        )
    return result


async def status(member_id: int) -> TierStatus:
    return (await statuses([member_id]))[member_id]


async def state_status(state: State, program: Program | None = None) -> TierStatus:
    """The tier status of a member locked by the current write (no extra read)."""
    program = program or await get_program()
    now = clock.now()
    points = await member_state.counted_tier_points(state, window_start(program, now), now)
    return status_of(await list_tiers(), state.tier_code, state.grace_until, points)


async def current_tier(member: Any) -> Tier | None:
    return (await status(member.id)).tier


async def voucher_discount_percent(member: Any) -> Decimal:
    """Percent off voucher point prices for the member's tier (0 without a tier)."""
    tier = await current_tier(member)
    return Decimal(tier.voucher_discount_percent) if tier else Decimal(0)


async def member_filter(code: str) -> Q:
    """Members in the tier `code` (for member lists); an unknown code matches nobody."""
    tiers = await list_tiers()
    tier = next((t for t in tiers if t.code == code.strip()), None)
    if tier is None:
        return Q(id__in=[])
    holders = Q(id__in=Subquery(MemberState.filter(tier_code=tier.code).values("member_id")))
    if tier is not tiers[0] or tier.threshold > 0:
        return holders
    # The threshold-0 starting tier: everyone who holds no higher tier.
    higher = MemberState.filter(tier_code__in=[t.code for t in tiers[1:]]).values("member_id")
    return holders | ~Q(id__in=Subquery(higher))


# --------------------------------------------------------------------------- changes


class TierPointWrites(Buffer):
    """Tier point entries of a unit, inserted in one statement."""

    order: ClassVar[int] = 60

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []

    async def flush(self) -> list[sql.Statement] | None:
        if not self.rows:
            return None
        source, params = sql.values(
            [
                ("member_id", "int"),
                ("points", "int"),
                ("earned_at", "timestamp"),
                ("source", "text"),
                ("order_id", "text"),
                ("created_at", "timestamp"),
            ],
            self.rows,
            1,
        )
        return [
            (
                "INSERT INTO tier_point_entry (member_id, points, earned_at, source, order_id,"
                f" created_at) SELECT member_id, points, earned_at, source, order_id, created_at"
                f" FROM ({source}) AS v",
                params,
            )
        ]


def _grace_days(program: Program) -> timedelta:
    return timedelta(days=program.tier_grace_days)


def _move(
    state: State, to: Tier | None, from_code: str | None, now: datetime, **extra: Any
) -> None:
    """Put the member in `to` (in memory; the unit writes the row) and tell them."""
    state.tier_code = to.code if to else None
    state.tier_changed_at = now
    for name, value in extra.items():
        setattr(state, name, value)
    state.touch()
    to_code = to.code if to else None
    if to_code != from_code:
        emit(TierChanged(state.member_id, from_code, to_code, now))


def _counts(program: Program, earned_at: datetime, now: datetime) -> bool:
    since = window_start(program, now)
    return since is None or earned_at > since


async def add_tier_points(
    member_id: int, points: int, earned_at: datetime, source: str, order_id: str | None = None
) -> None:
    """Record earned tier points; a member crossing a higher threshold moves up at once."""
    if points < 0:
        raise ValueError("tier points earned cannot be negative")
    async with unit_of_work():
        now = clock.now()
        state = await member_state.lock(member_id)
        program = await get_program()
        tiers = await list_tiers()
        total = await member_state.counted_tier_points(state, window_start(program, now), now)
        if points:
            buffer(TierPointWrites).rows.append(
                (member_id, points, earned_at, source[:160], order_id, now)
            )
            if _counts(program, earned_at, now):
                total += points
                state.tier_points = total
                if program.tier_window != "LIFETIME":
                    leaves = earned_at + timedelta(days=ROLLING_DAYS)
                    if state.tier_points_until is None or leaves < state.tier_points_until:
                        state.tier_points_until = leaves
                state.touch()
            emit(TierPointsChanged(member_id, points, total, now))
        held = next((t for t in tiers if t.code == state.tier_code), None)
        qualified = qualified_tier(tiers, total)
        # Holding nothing means holding the starting tier: a threshold-0 tier needs no record.
        if qualified is not None and qualified.threshold > (held.threshold if held else 0):
            before = held_tier(tiers, state.tier_code, total - points)
            _move(
                state,
                qualified,
                before.code if before else None,
                now,
                grace_until=None,
                promoted_by_order=order_id,
                tier_before=before.code if before else None,
            )
        elif held is not None and state.grace_until is not None and total >= held.threshold:
            state.grace_until = None
            state.touch()


async def remove_order_tier_points(member_id: int, order_id: str, points: int) -> None:
    """A refund takes back `points` of the order's tier points.

    The removal is dated like the order, so a rolling window forgets both together.
    Refunding the order that promoted the member demotes them now; any other fall below
    the threshold starts the grace period.
    """
    if points <= 0:
        return
    async with unit_of_work():
        now = clock.now()
        state = await member_state.lock(member_id)
        program = await get_program()
        tiers = await list_tiers()
        total = await member_state.counted_tier_points(state, window_start(program, now), now)
        earned = (
            await TierPointEntry.filter(member_id=member_id, order_id=order_id, points__gt=0)
            .order_by("earned_at")
            .first()
        )
        earned_at = earned.earned_at if earned else now
        buffer(TierPointWrites).rows.append(
            (member_id, -points, earned_at, f"refund:{order_id}"[:160], order_id, now)
        )
        if _counts(program, earned_at, now):
            total -= points
            state.tier_points = total
            state.touch()
        total = max(0, total)
        emit(TierPointsChanged(member_id, -points, total, now))
        current = held_tier(tiers, state.tier_code, total)
        held = next((t for t in tiers if t.code == state.tier_code), None)
        if held is None or total >= held.threshold:
            return
        if state.promoted_by_order == order_id:
            before = next((t for t in tiers if t.code == state.tier_before), None)
            qualified = qualified_tier(tiers, total)
            target = before
            if target is None or (qualified is not None and qualified.threshold > target.threshold):
                target = qualified
            still_below = target is not None and total < target.threshold
            _move(
                state,
                target,
                current.code if current else None,
                now,
                promoted_by_order=None,
                tier_before=None,
                grace_until=(now + _grace_days(program)) if still_below else None,
            )
        elif state.grace_until is None:
            state.grace_until = now + _grace_days(program)
            state.touch()


async def _review_one(member_id: int, tiers: list[Tier], program: Program) -> str | None:
    """One member's review; returns what happened ("grace", "demoted", ...) or None."""
    now = clock.now()
    async with unit_of_work():
        state = await member_state.lock(member_id)
        if state.tier_code is None:
            return None
        held = next((t for t in tiers if t.code == state.tier_code), None)
        if held is None:
            return None
        total = await member_state.counted_tier_points(state, window_start(program, now), now)
        qualified = qualified_tier(tiers, total)
        if qualified is not None and qualified.threshold > held.threshold:
            _move(state, qualified, held.code, now, grace_until=None, promoted_by_order=None)
            return "upgraded"
        if total >= held.threshold:
            if state.grace_until is not None:
                state.grace_until = None
                state.touch()
                return "recovered"
            return None
        if state.grace_until is None and program.tier_grace_days > 0:
            state.grace_until = now + _grace_days(program)
            state.touch()
            return "grace"
        if state.grace_until is not None and state.grace_until > now:
            return None
        lower = next((t for t in reversed(tiers) if t.threshold < held.threshold), None)
        still_below = lower is not None and total < lower.threshold
        # Re-reviewed later: a new grace period (at least a day) before any further step.
        again = now + max(_grace_days(program), timedelta(days=1))
        _move(
            state,
            lower,
            held.code,
            now,
            grace_until=again if still_below else None,
            promoted_by_order=None,
            tier_before=None,
        )
        return "demoted"


async def _counted(
    rows: list[dict[str, Any]], since: datetime | None, now: datetime
) -> dict[int, int]:
    """Counted tier points of state rows, recounting the stale ones."""
    points = {}
    for row in rows:
        member_id = int(row["member_id"])
        until = sql.decode_datetime(row["tier_points_until"])
        if until is not None and now >= until:
            points[member_id] = max(0, (await member_state.recount(member_id, since))[0])
        else:
            points[member_id] = max(0, int(row["tier_points"]))
    return points


async def review_tiers() -> dict[str, int]:
    """The tier review job: grace for members below their tier, one step down when it ends.

    Idempotent: a second run at the same moment finds nothing to do.
    """
    program = await get_program()
    tiers = await list_tiers()
    by_code = {t.code: t for t in tiers}
    counts: dict[str, int] = {}
    last_id = 0
    while True:
        rows = await sql.rows(
            "SELECT member_id, tier_code, grace_until, tier_points, tier_points_until"
            " FROM member_state WHERE tier_code IS NOT NULL AND member_id > $1"
            " ORDER BY member_id LIMIT $2",
            [last_id, REVIEW_BATCH],
        )
        if not rows:
            break
        last_id = int(rows[-1]["member_id"])
        now = clock.now()
        points = await _counted(rows, window_start(program, now), now)
        # One query per batch; grace periods start in one UPDATE, and only members with a
        # move to make (up, back above, or down when grace ended) get a transaction.
        starting: list[int] = []
        for row in rows:
            member_id = int(row["member_id"])
            held = by_code.get(row["tier_code"])
            if held is None:
                continue
            total, grace = points[member_id], sql.decode_datetime(row["grace_until"])
            qualified = qualified_tier(tiers, total)
            if qualified is not None and qualified.threshold > held.threshold:
                pass
            elif total >= held.threshold:
                if grace is None:
                    continue
            elif grace is None and program.tier_grace_days > 0:
                starting.append(member_id)
                continue
            elif grace is not None and grace > now:
                continue
            outcome = await _review_one(member_id, tiers, program)
            if outcome:
                counts[outcome] = counts.get(outcome, 0) + 1
        if starting:
            # An order committed meanwhile that lifts someone back is seen by the next run,
            # which ends their grace ("recovered").
            async with unit_of_work():
                started = await MemberState.filter(
                    member_id__in=starting, grace_until__isnull=True
                ).update(grace_until=now + _grace_days(program))
            if started:
                counts["grace"] = counts.get("grace", 0) + started
    return counts


async def upgrade_qualified() -> int:
    """Move up every member whose tier points reach a higher tier than the one they hold.

    Earning upgrades at once; this catches tiers created or lowered after points were
    earned. Returns how many members moved.
    """
    program = await get_program()
    tiers = await list_tiers()
    lowest = min((t.threshold for t in tiers if t.threshold > 0), default=None)
    if lowest is None:
        return 0
    now = clock.now()
    # Stale counts may be higher than the truth, never lower: recount those that pass.
    rows = await sql.rows(
        "SELECT member_id, tier_points, tier_points_until FROM member_state"
        " WHERE tier_points >= $1 ORDER BY member_id",
        [lowest],
    )
    points = await _counted(rows, window_start(program, now), now)
    moved = 0
    for member_id in sorted(m for m, p in points.items() if p >= lowest):
        async with unit_of_work():
            state = await member_state.lock(member_id)
            total = await member_state.counted_tier_points(
                state, window_start(program, clock.now()), clock.now()
            )
            held = next((t for t in tiers if t.code == state.tier_code), None)
            qualified = qualified_tier(tiers, total)
            if qualified is None or qualified.threshold <= (held.threshold if held else 0):
                continue
            before = held or qualified_tier([t for t in tiers if t.threshold == 0], 0)
            _move(
                state,
                qualified,
                before.code if before else None,
                clock.now(),
                grace_until=None,
                promoted_by_order=None,
                tier_before=None,
            )
            moved += 1
    return moved


async def window_changed() -> None:
    """The program's tier window changed: every counted total is recounted when next read."""
    await sql.execute(
        "UPDATE member_state SET tier_points_until = $1",
        [datetime(2000, 1, 1, tzinfo=clock.now().tzinfo)],
    )
