"""Members' mission progress: advancing it from actions, showing it, claiming rewards.

One action moves every matching mission with a fixed number of queries: the active
missions of its type in one query, the member's progress rows for them in one, then one
bulk insert and one bulk update, whatever the number of missions. Progress is kept per
window (period_key: '' for ONCE, else the local day, ISO week or month of the action).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Protocol

from core import clock, sql
from core.errors import AlreadyRedeemed, NotEligible
from core.events import Buffer, buffer, emit, unit_of_work
from game import grants
from game.missions.definitions import Measure, Missions, get, loaded
from game.missions.events import SNAPSHOT_KEYS, MissionCompleted, MissionProgressed
from game.missions.windows import period_keys
from game.models import Mission, MissionProgress
from members import segments
from members.models import Member
from rewards.badges.models import BadgeAward
from rewards.member_state import Peek, State, lock
from rewards.tiers import service as tiers


@dataclass
class ProgressView:
    """A member's standing in one mission for one window."""

    mission: Mission
    progress: float
    target: float
    period_key: str | None
    completed: bool
    completed_at: datetime | None
    claimed: bool
    times_completed: int

    def snapshot(self) -> dict[str, Any]:
        """missionId, progress, target, periodKey, ... as JSON values."""
        return dict(zip(SNAPSHOT_KEYS, self.packed(), strict=True))

    def packed(self) -> list[Any]:
        """snapshot()'s values in SNAPSHOT_KEYS order (what a live message carries)."""
        return [
            self.mission.id,
            self.progress,
            self.target,
            self.period_key,
            self.completed,
            self.completed_at.isoformat() if self.completed_at else None,
            self.claimed,
            self.times_completed,
        ]

    @classmethod
    def from_packed(cls, mission: Mission, values: list[Any]) -> ProgressView:
        """The view packed() gave these values."""
        return cls.from_snapshot(mission, dict(zip(SNAPSHOT_KEYS, values, strict=True)))

    @classmethod
    def from_snapshot(cls, mission: Mission, data: dict[str, Any]) -> ProgressView:
        completed_at = data.get("completedAt")
        return cls(
            mission=mission,
            progress=float(data["progress"]),
            target=float(data["target"]),
            period_key=data.get("periodKey"),
            completed=bool(data["completed"]),
            completed_at=datetime.fromisoformat(completed_at) if completed_at else None,
            claimed=bool(data["claimed"]),
            times_completed=int(data["timesCompleted"]),
        )


class Row(Protocol):
    """A progress row: the ORM's MissionProgress, or the hot path's lighter ProgressRow."""

    mission_id: int
    member_id: int
    period_key: str
    progress: Decimal
    times_completed: int
    times_claimed: int
    completed_at: datetime | None
    last_day: date | None
    updated_at: datetime


@dataclass(slots=True)
class ProgressRow:
    """A member's progress row as an action holds it: plain data, not an ORM object (an
    action moves up to every live mission of its type)."""

    mission_id: int
    member_id: int
    period_key: str
    progress: Decimal
    times_completed: int
    times_claimed: int
    completed_at: datetime | None
    last_day: date | None
    updated_at: datetime


# The measures as stored (plain strings: compared once per mission per action).
_COUNT, _SUM, _STREAK_DAYS = Measure.COUNT.value, Measure.SUM.value, Measure.STREAK_DAYS.value


def _shown(mission: Mission, row: Row | None, today: date) -> Decimal:
    """The progress a member sees: a streak a day went by without counts from zero."""
    progress = row.progress if row else Decimal(0)
    if (
        row is not None
        and mission.measure == _STREAK_DAYS
        and not _maxed(mission, row)
        and row.last_day is not None
        and row.last_day < today - timedelta(days=1)
    ):
        return Decimal(0)
    return Decimal(progress)


def packed_view(mission: Mission, row: Row, key: str, today: date) -> list[Any]:
    """`view(...).packed()` without the view: what an action sends for each mission it moved
    (up to every live mission of its type; the view is built only where it is read)."""
    done = row.times_completed > 0
    completed_at = row.completed_at
    return [
        mission.id,
        float(_shown(mission, row, today)),
        float(mission.target),
        key or None,
        done,
        completed_at.isoformat() if completed_at else None,
        done and row.times_claimed >= row.times_completed,
        row.times_completed,
    ]


def view(mission: Mission, row: Row | None, key: str, today: date) -> ProgressView:
    progress = _shown(mission, row, today)
    done = bool(row and row.times_completed > 0)
    return ProgressView(
        mission=mission,
        progress=float(progress),
        target=float(mission.target),
        period_key=key or None,
        completed=done,
        completed_at=row.completed_at if row else None,
        claimed=bool(row and done and row.times_claimed >= row.times_completed),
        times_completed=row.times_completed if row else 0,
    )


def _maxed(mission: Mission, row: Row) -> bool:
    return mission.max_completions is not None and row.times_completed >= mission.max_completions


def matches(filter_: dict[str, Any] | None, attributes: dict[str, Any] | None) -> bool:
    """Every attribute the filter names must be present and equal."""
    if not filter_:
        return True
    attributes = attributes or {}
    return all(k in attributes and attributes[k] == v for k, v in filter_.items())


def in_dates(mission: Mission, at: datetime) -> bool:
    return (mission.starts_at is None or mission.starts_at <= at) and (
        mission.ends_at is None or at < mission.ends_at
    )


def step(mission: Mission, row: Row, value: Decimal, day: date, now: datetime) -> bool | None:
    """Apply one matching action to `row`: None if it does not move, else whether it completed."""
    if _maxed(mission, row):
        return None
    measure = mission.measure
    if measure == _COUNT:
        row.progress = Decimal(row.progress) + 1
    elif measure == _SUM:
        row.progress = Decimal(row.progress) + value
    else:
        if row.last_day is not None and day <= row.last_day:
            return None  # a day counts once, and a late report cannot rewrite a streak
        extends = row.last_day is not None and day == row.last_day + timedelta(days=1)
        row.progress = Decimal(row.progress) + 1 if extends else Decimal(1)
        row.last_day = day
    row.updated_at = now
    if row.progress < mission.target:
        return False
    row.times_completed += 1
    row.completed_at = now
    if mission.auto_claim:
        row.times_claimed += 1
    # Repeatable: the next completion starts from zero; the last one stays full.
    row.progress = Decimal(mission.target) if _maxed(mission, row) else Decimal(0)
    return True


Moved = tuple[Mission, list[Any]]  # a mission and its progress as packed_view() gives it


@dataclass
class Advanced:
    moved: list[Moved] = field(default_factory=list)
    points: int = 0
    badges: list[BadgeAward] = field(default_factory=list)
    # The moved missions' packed values as JSON, encoded once for the live message and the
    # action's stored result (50 missions' lists are most of both).
    packed_json: str = "[]"


_PROGRESS_COLUMNS = [
    ("mission_id", "int"),
    ("member_id", "int"),
    ("period_key", "text"),
    ("progress", "numeric"),
    ("times_completed", "int"),
    ("times_claimed", "int"),
    ("completed_at", "timestamp"),
    ("last_day", "date"),
]
_NAMES = ", ".join(n for n, _ in _PROGRESS_COLUMNS)


class ProgressWrites(Buffer):
    """The unit's changed progress rows, new and existing alike, in one upsert."""

    order: ClassVar[int] = 30

    def __init__(self) -> None:
        self.rows: dict[tuple[int, int, str], Row] = {}

    def add(self, row: Row) -> None:
        self.rows[(row.member_id, row.mission_id, row.period_key)] = row

    async def flush(self) -> list[sql.Statement] | None:
        if not self.rows:
            return None
        source, params = sql.values(
            _PROGRESS_COLUMNS,
            [
                (
                    r.mission_id,
                    r.member_id,
                    r.period_key,
                    r.progress,
                    r.times_completed,
                    r.times_claimed,
                    r.completed_at,
                    r.last_day,
                )
                for r in self.rows.values()
            ],
            1,
        )
        # One time for the unit's rows (a batch's actions are milliseconds apart): a
        # parameter, not a column of 50 (or 5,000) timestamps to encode.
        params.append(max(r.updated_at for r in self.rows.values()))
        return [
            (
                f"INSERT INTO mission_progress ({_NAMES}, updated_at)"
                f" SELECT {_NAMES}, ${len(params)} FROM ({source}) AS v"
                " WHERE TRUE ON CONFLICT (member_id, mission_id, period_key) DO UPDATE SET"
                " progress = excluded.progress, times_completed = excluded.times_completed,"
                " times_claimed = excluded.times_claimed, completed_at = excluded.completed_at,"
                " last_day = excluded.last_day, updated_at = excluded.updated_at",
                params,
            )
        ]


async def _rows(
    member_id: int, mission_ids: list[int], keys: list[str]
) -> dict[tuple[int, str], Row]:
    """The member's progress rows for these missions and windows (one query)."""
    ids_sql, ids_params = sql.id_list(mission_ids, 2)
    keys_sql, keys_params = sql.id_list(keys, 3, "text")
    found = await sql.rows(
        "SELECT mission_id, period_key, progress, times_completed, times_claimed,"
        " completed_at, last_day, updated_at FROM mission_progress"
        f" WHERE member_id = $1 AND mission_id {ids_sql} AND period_key {keys_sql}",
        [member_id, *ids_params, *keys_params],
    )
    return {
        (int(r["mission_id"]), r["period_key"]): ProgressRow(
            mission_id=int(r["mission_id"]),
            member_id=member_id,
            period_key=r["period_key"],
            progress=sql.decode_decimal(r["progress"]),
            times_completed=int(r["times_completed"]),
            times_claimed=int(r["times_claimed"]),
            completed_at=sql.decode_datetime(r["completed_at"]),
            last_day=sql.decode_date(r["last_day"]),
            updated_at=sql.decode_datetime(r["updated_at"]) or clock.now(),
        )
        for r in found
    }


_ROW_JSON = {
    "postgres": (
        "COALESCE(json_agg(json_build_array(mission_id, period_key, progress::text,"
        " times_completed, times_claimed, completed_at, last_day)), '[]')"
    ),
    "sqlite": (
        "COALESCE(json_group_array(json_array(mission_id, period_key, CAST(progress AS TEXT),"
        " times_completed, times_claimed, completed_at, last_day)), '[]')"
    ),
}


@dataclass(frozen=True)
class Prefetch:
    """Progress rows read with the member's lock (a peek), for these missions and windows."""

    mission_ids: frozenset[int]
    keys: frozenset[str]

    def peek(self) -> Peek:
        ids_sql, ids_params = sql.id_list(sorted(self.mission_ids), 1)
        keys_sql, keys_params = sql.id_list(sorted(self.keys), 2, "text")
        return Peek(
            "progress",
            f"SELECT {_ROW_JSON[sql.dialect()]} FROM mission_progress WHERE member_id = $m"
            f" AND mission_id {ids_sql} AND period_key {keys_sql}",
            [*ids_params, *keys_params],
        )

    def covers(self, mission_ids: set[int], keys: set[str]) -> bool:
        return mission_ids <= self.mission_ids and keys <= self.keys


def prefetch_for(action_type: str, missions: Missions, at: datetime, zone: str) -> Prefetch | None:
    """What to read with the lock for an action of this type (None: no live mission)."""
    ids = missions.ids_by_action.get(action_type)
    if not ids:
        return None
    windows = missions.windows_by_action[action_type]
    return Prefetch(ids, frozenset(period_keys(windows, at, zone).values()))


def _rows_of(member_id: int, peeked: Any, now: datetime) -> dict[tuple[int, str], Row]:
    """The peeked rows; `updated_at` is not read: a row the action moves gets `now`, and
    the others are not written. (JSON numbers come as ints: only the text columns need
    decoding, and most rows have no completion or streak day.)"""
    rows: dict[tuple[int, str], Row] = {}
    for mission_id, key, progress, completed, claimed, completed_at, last_day in (
        sql.decode_json(peeked) or ()
    ):
        rows[(mission_id, key)] = ProgressRow(
            mission_id,
            member_id,
            key,
            Decimal(progress),
            completed,
            claimed,
            None if completed_at is None else sql.decode_datetime(completed_at),
            None if last_day is None else date.fromisoformat(last_day),
            now,
        )
    return rows


async def targeted(state: State, missions: list[Mission]) -> list[Mission]:
    """The missions among these that target the member (tier and segment rules)."""
    if all(m.tier_codes is None and m.segment_id is None for m in missions):
        return missions
    tier = (await tiers.state_status(state)).tier
    tier_code = tier.code if tier else None
    wanted = {m.segment_id for m in missions if m.segment_id is not None}
    inside = await segments.containing(wanted, state.member_id) if wanted else set()
    return [
        m
        for m in missions
        if (m.tier_codes is None or tier_code in m.tier_codes)
        and (m.segment_id is None or m.segment_id in inside)
    ]


async def advance(
    state: State,
    action_type: str,
    value: Decimal,
    attributes: dict[str, Any] | None,
    occurred_at: datetime,
    zone: str,
    prefetched: Prefetch | None = None,
) -> Advanced:
    """Move the member's matching missions for one action (inside the action's unit of work).

    The caller holds the member's lock, so no other write to these rows runs meanwhile. Their
    rows come from the lock's "progress" peek when `prefetched` covers them, else one query.
    """
    result = Advanced()
    live = (await loaded()).active_by_action.get(action_type, ())
    missions = [
        m for m in live if in_dates(m, occurred_at) and matches(m.attribute_filter, attributes)
    ]
    if not missions:
        return result
    missions = await targeted(state, missions)
    if not missions:
        return result
    member_id = state.member_id
    by_window = period_keys((m.window for m in missions), occurred_at, zone)
    keys = {m.id: by_window[m.window] for m in missions}
    now = clock.now()
    if prefetched is not None and prefetched.covers(set(keys), set(keys.values())):
        rows = _rows_of(member_id, state.peeks.get("progress"), now)
    else:
        rows = await _rows(member_id, list(keys), sorted(set(keys.values())))
    day = clock.local(occurred_at, zone).date()
    today = clock.local_today(zone)
    writes = buffer(ProgressWrites)
    completed: list[tuple[Mission, Row]] = []
    for mission in missions:
        key = keys[mission.id]
        row = rows.get((mission.id, key))
        if row is None:
            row = ProgressRow(mission.id, member_id, key, Decimal(0), 0, 0, None, None, now)
        outcome = step(mission, row, value, day, now)
        if outcome is None:
            continue
        writes.add(row)
        if outcome:
            completed.append((mission, row))
        result.moved.append((mission, packed_view(mission, row, key, today)))
    for mission, row in completed:
        emit(MissionCompleted(member_id, mission.id, mission.title, row.period_key or None, now))
        if mission.auto_claim:
            granted = await grants.grant(
                member_id,
                grants.Reward.of(mission),
                f"mission:{mission.id}",
                f"Mission: {mission.title}",
            )
            result.points += granted.points
            result.badges.extend(granted.badges)
    if result.moved:
        packed = [values for _, values in result.moved]
        result.packed_json = json.dumps(packed, separators=(",", ":"))
        emit(MissionProgressed(member_id, packed, now, result.packed_json))
    return result


async def available_to(member_id: int, tier_code: str | None) -> list[Mission]:
    """Active missions running now that target this member (of this tier)."""
    now = clock.now()
    running = [m for m in (await loaded()).active if in_dates(m, now)]
    wanted = {m.segment_id for m in running if m.segment_id is not None}
    inside = await segments.containing(wanted, member_id) if wanted else set()
    return [
        m
        for m in running
        if (m.tier_codes is None or tier_code in m.tier_codes)
        and (m.segment_id is None or m.segment_id in inside)
    ]


async def my_missions(
    member_id: int, tier_code: str | None, zone: str, include_completed: bool = True
) -> list[ProgressView]:
    """The missions the member may take part in now, with their progress in this window
    (one read of their progress rows)."""
    missions = await available_to(member_id, tier_code)
    if not missions:
        return []
    now = clock.now()
    today = clock.local_today(zone)
    by_window = period_keys((m.window for m in missions), now, zone)
    keys = {m.id: by_window[m.window] for m in missions}
    rows = await _rows(member_id, list(keys), sorted(set(keys.values())))
    views = [view(m, rows.get((m.id, keys[m.id])), keys[m.id], today) for m in missions]
    return [v for v in views if include_completed or not v.completed]


@dataclass
class Claimed:
    view: ProgressView
    points: int


async def claim(member: Member, mission_id: int, zone: str) -> Claimed:
    """Grant the reward of every completion not yet claimed (autoClaim false)."""
    mission = await get(mission_id, "mission_id")
    async with unit_of_work():
        await lock(member.id)
        rows = await MissionProgress.filter(member_id=member.id, mission_id=mission.id).order_by(
            "-updated_at", "-id"
        )
        pending = [r for r in rows if r.times_completed > r.times_claimed]
        if not pending:
            if any(r.times_completed for r in rows):
                raise AlreadyRedeemed("this mission's reward was claimed already", "mission_id")
            raise NotEligible("complete the mission before claiming its reward", "mission_id")
        times = sum(r.times_completed - r.times_claimed for r in pending)
        now = clock.now()
        for row in pending:
            row.times_claimed = row.times_completed
            row.updated_at = now
        await MissionProgress.bulk_update(pending, fields=["times_claimed", "updated_at"])
        reward = grants.Reward.of(mission)
        granted = grants.Granted()
        for _ in range(times):
            once = await grants.grant(
                member.id, reward, f"mission:{mission.id}", f"Mission: {mission.title}"
            )
            granted.points += once.points
        latest = pending[0]
        shown = view(mission, latest, latest.period_key, clock.local_today(zone))
        emit(MissionProgressed(member.id, [shown.packed()], now))
        return Claimed(view=shown, points=granted.points)
