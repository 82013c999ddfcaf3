"""Mission definitions: what admins create, change and switch on or off.

A change to a mission (updateMission, setMissionStatus) only touches the mission row:
progress members already made stays as it is, and the new definition applies to the
actions that come after it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from tortoise.functions import Sum

from core import clock, definitions, validation
from core.errors import InvalidInput, NotFound
from core.events import unit_of_work
from game import action_types, grants
from game.missions.windows import Window
from game.models import Mission, MissionProgress
from members import segments
from rewards.tiers.models import Tier

MAX_ATTRIBUTES_JSON = 2000


class Measure(Enum):
    COUNT = "COUNT"
    SUM = "SUM"
    STREAK_DAYS = "STREAK_DAYS"


class Status(Enum):
    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    ARCHIVED = "ARCHIVED"


@dataclass
class MissionData:
    title: str
    action_type: str
    target: float
    reward: grants.Reward
    description: str | None = None
    measure: Measure = Measure.COUNT
    filter: dict[str, Any] | None = None
    window: Window = Window.ONCE
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    auto_claim: bool = True
    max_completions: int | None = 1
    tier_codes: list[str] | None = None
    segment_id: int | None = None
    status: Status = Status.ACTIVE


def check_attributes(value: Any, field: str) -> dict[str, Any] | None:
    """A flat JSON object of scalar values (what filters compare), at most 2000 characters."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput("must be a JSON object", field)
    for k, v in value.items():
        if not isinstance(k, str) or not k or len(k) > 64:
            raise InvalidInput("attribute names must be 1..64 characters", field)
        if not (v is None or isinstance(v, str | int | float | bool)):
            raise InvalidInput(f"attribute {k!r} must be a string, number, boolean or null", field)
        if isinstance(v, float) and not math.isfinite(v):
            raise InvalidInput(f"attribute {k!r} must be a finite number", field)
    if len(json.dumps(value)) > MAX_ATTRIBUTES_JSON:
        raise InvalidInput(f"at most {MAX_ATTRIBUTES_JSON} characters of JSON", field)
    return value


async def _columns(data: MissionData) -> dict[str, Any]:
    title = validation.text(data.title, "title", max_len=200)
    description = (
        validation.text(data.description, "description", max_len=2000) if data.description else None
    )
    if not await action_types.known(data.action_type):
        raise NotFound(f"no action type {data.action_type!r}", "action_type")
    if not math.isfinite(data.target) or data.target <= 0:
        raise InvalidInput("target must be greater than 0", "target")
    if data.target > 1e12:
        raise InvalidInput("target is too large", "target")
    if data.measure is not Measure.SUM and data.target != int(data.target):
        raise InvalidInput("target must be a whole number for COUNT and STREAK_DAYS", "target")
    if data.starts_at and data.ends_at and data.ends_at <= data.starts_at:
        raise InvalidInput("endsAt must be after startsAt", "ends_at")
    if data.max_completions is not None and data.max_completions < 1:
        raise InvalidInput("maxCompletions must be at least 1 (or null)", "max_completions")
    tier_codes = None
    if data.tier_codes is not None:
        validation.capped_list(data.tier_codes, "tier_codes", 50)
        tier_codes = sorted({validation.text(c, "tier_codes", max_len=32) for c in data.tier_codes})
        await _check_tiers(tier_codes)
    if data.segment_id is not None:
        await _check_segment(data.segment_id)
    reward = await grants.validate(data.reward, "reward")
    return {
        "title": title,
        "description": description,
        "action_type": data.action_type,
        "measure": data.measure.value,
        "target": Decimal(str(data.target)),
        "attribute_filter": check_attributes(data.filter, "filter") or None,
        "window": Window(data.window).value,
        "starts_at": data.starts_at,
        "ends_at": data.ends_at,
        "auto_claim": data.auto_claim,
        "max_completions": data.max_completions,
        "tier_codes": tier_codes,
        "segment_id": data.segment_id,
        "status": data.status.value,
        **reward.columns(),
    }


async def _check_tiers(codes: list[str]) -> None:
    known = set(await Tier.filter(code__in=codes).values_list("code", flat=True))
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise NotFound(f"no tier {unknown[0]!r}", "tier_codes")


async def _check_segment(segment_id: int) -> None:
    await segments.get_segment(segment_id)


async def create(data: MissionData) -> Mission:
    columns = await _columns(data)
    now = clock.now()
    async with unit_of_work():
        mission = await Mission.create(**columns, created_at=now, updated_at=now)
        await definitions.changed()
        return mission


async def get(mission_id: int, field: str = "id") -> Mission:
    mission = await Mission.get_or_none(id=mission_id)
    if mission is None:
        raise NotFound("no mission with this id", field)
    return mission


async def update(mission_id: int, data: MissionData) -> Mission:
    """Replace the definition; members' progress rows are left untouched."""
    mission = await get(mission_id)
    if mission.status == Status.ARCHIVED.value and data.status is not Status.ARCHIVED:
        raise InvalidInput("an archived mission stays archived", "status")
    columns = await _columns(data)
    async with unit_of_work():
        await Mission.filter(id=mission.id).update(**columns, updated_at=clock.now())
        await definitions.changed()
    await mission.refresh_from_db()
    return mission


async def set_status(mission_id: int, status: Status) -> Mission:
    mission = await get(mission_id)
    if mission.status == Status.ARCHIVED.value and status is not Status.ARCHIVED:
        raise InvalidInput("an archived mission stays archived", "status")
    async with unit_of_work():
        await Mission.filter(id=mission.id).update(status=status.value, updated_at=clock.now())
        await definitions.changed()
    await mission.refresh_from_db()
    return mission


async def list_missions(status: Status | None = None) -> list[Mission]:
    query = Mission.all() if status is None else Mission.filter(status=status.value)
    return await query.order_by("id")


async def completions(mission_ids: list[int]) -> dict[int, int]:
    """Times each mission was completed, all members and windows (one query)."""
    rows = (
        await MissionProgress.filter(mission_id__in=mission_ids)
        .annotate(total=Sum("times_completed"))
        .group_by("mission_id")
        .values("mission_id", "total")
    )
    return {r["mission_id"]: int(r["total"] or 0) for r in rows}


async def by_ids(mission_ids: list[int]) -> dict[int, Mission]:
    known = (await loaded()).by_id
    return {m: known[m] for m in mission_ids if m in known}


@dataclass(frozen=True)
class Missions:
    """The snapshot's part: every mission by id, the active ones by action type."""

    by_id: dict[int, Mission]
    active: tuple[Mission, ...]
    active_by_action: dict[str, tuple[Mission, ...]]
    # What an action of a type reads with the member's lock: its missions' ids and windows.
    ids_by_action: dict[str, frozenset[int]]
    windows_by_action: dict[str, frozenset[str]]


async def load_definitions() -> Missions:
    rows = await Mission.all().order_by("id")
    active = tuple(m for m in rows if m.status == Status.ACTIVE.value)
    by_action: dict[str, list[Mission]] = {}
    for m in active:
        by_action.setdefault(m.action_type, []).append(m)
    return Missions(
        by_id={m.id: m for m in rows},
        active=active,
        active_by_action={k: tuple(v) for k, v in by_action.items()},
        ids_by_action={k: frozenset(m.id for m in v) for k, v in by_action.items()},
        windows_by_action={k: frozenset(m.window for m in v) for k, v in by_action.items()},
    )


async def loaded() -> Missions:
    return (await definitions.get())["missions"]  # type: ignore[no-any-return]
