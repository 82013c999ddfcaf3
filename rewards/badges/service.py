"""Badges: their definitions and who holds them (each member at most once).

Missions, stamp cards, spin prizes and admins grant badges through `award`; the member's
app hears of each new one through the BadgeAwarded member event. Secret badges are listed
to a member only once they hold them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core import clock, definitions, sql, validation
from core.errors import InvalidInput, NotFound
from core.events import Buffer, MemberEvent, buffer, emit, unit_cache, unit_of_work
from rewards import member_state
from rewards.badges.models import Badge, BadgeAward

_CODE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass
class BadgeAwarded(MemberEvent):
    member_id: int
    code: str
    awarded_at: datetime

    def message(self) -> dict[str, Any]:
        return {"type": "BadgeAwarded", "code": self.code, "awardedAt": self.awarded_at.isoformat()}


@dataclass
class BadgeData:
    code: str
    name: str
    description: str | None = None
    icon_url: str | None = None
    secret: bool = False


def check_code(code: str, field: str) -> str:
    code = code.strip()
    if not _CODE.match(code):
        raise InvalidInput(
            "code must be 1..64 lowercase letters, digits or . _ - (e.g. 'reviewer')", field
        )
    return code


async def upsert(data: BadgeData) -> Badge:
    code = check_code(data.code, "code")
    name = validation.text(data.name, "name", max_len=100)
    description = (
        validation.text(data.description, "description", max_len=1000) if data.description else None
    )
    icon_url = data.icon_url.strip() if data.icon_url else None
    if icon_url and (len(icon_url) > 500 or not icon_url.startswith(("https://", "http://"))):
        raise InvalidInput("iconUrl must be an http(s) URL of at most 500 characters", "icon_url")
    now = clock.now()
    values: dict[str, Any] = {
        "name": name,
        "description": description,
        "icon_url": icon_url,
        "secret": data.secret,
        "updated_at": now,
    }
    async with unit_of_work():
        await definitions.changed()
        badge = await Badge.select_for_update().get_or_none(code=code)
        if badge is None:
            try:
                async with in_transaction():
                    return await Badge.create(code=code, created_at=now, **values)
            except IntegrityError:  # a concurrent upsert created it first
                badge = await Badge.get(code=code)
        await Badge.filter(id=badge.id).update(**values)
        await badge.refresh_from_db()
        return badge


async def load_definitions() -> dict[str, Badge]:
    """The snapshot's part: every badge by code."""
    return {b.code: b for b in await Badge.all().order_by("id")}


async def by_code() -> dict[str, Badge]:
    return (await definitions.get())["badges"]  # type: ignore[no-any-return]


async def get(code: str, field: str | None = None) -> Badge:
    badge = (await by_code()).get(code)
    if badge is None:
        raise NotFound(f"no badge with code {code!r}", field)
    return badge


async def exists(code: str) -> bool:
    return code in await by_code()


async def listed_for(member_id: int | None) -> list[Badge]:
    """All badges for staff (member_id None); a member sees secret ones only once held."""
    badges = await Badge.all().order_by("id")
    if member_id is None:
        return badges
    held = set(await BadgeAward.filter(member_id=member_id).values_list("badge_id", flat=True))
    return [b for b in badges if not b.secret or b.id in held]


@dataclass(frozen=True)
class Held:
    """A badge a member holds, as screens show it (the badge from the definitions)."""

    badge: Badge
    awarded_at: datetime


async def awards_of(member_ids: list[int]) -> dict[int, list[Held]]:
    """Each member's badges, oldest first (one query; the badges from memory)."""
    where, params = sql.id_list(member_ids, 1)
    rows = await sql.rows(
        "SELECT member_id, badge_id, awarded_at FROM badge_award"
        f" WHERE member_id {where} ORDER BY awarded_at, id",
        params,
    )
    by_id = {b.id: b for b in (await by_code()).values()}
    found: dict[int, list[Held]] = {m: [] for m in member_ids}
    for row in rows:
        badge = by_id.get(int(row["badge_id"]))
        awarded_at = sql.decode_datetime(row["awarded_at"])
        if badge is not None and awarded_at is not None:
            found[int(row["member_id"])].append(Held(badge, awarded_at))
    return found


async def award(
    member_id: int, code: str, source: str, *, field: str | None = None
) -> BadgeAward | None:
    """Give the member the badge; None when they hold it already. Emits BadgeAwarded.

    Written with the unit's other awards in one statement at its end; the member's lock
    makes "held already?" exact.
    """
    async with unit_of_work():
        badge = await get(code, field)
        await member_state.lock(member_id)
        held = await _held(member_id)
        if badge.id in held:
            return None
        held.add(badge.id)
        now = clock.now()
        row = BadgeAward(member_id=member_id, badge=badge, awarded_at=now, source=source[:100])
        buffer(AwardWrites).rows.append(row)
        emit(BadgeAwarded(member_id=member_id, code=badge.code, awarded_at=now))
        return row


async def _held(member_id: int) -> set[int]:
    """Badge ids the member holds, read once per unit of work."""
    cache = unit_cache()
    assert cache is not None
    key = ("badges_held", member_id)
    if key not in cache:
        found = await sql.rows("SELECT badge_id FROM badge_award WHERE member_id = $1", [member_id])
        cache[key] = {int(r["badge_id"]) for r in found}
    return cache[key]  # type: ignore[no-any-return]


class AwardWrites(Buffer):
    """The unit's new badge awards, in one statement."""

    order: ClassVar[int] = 40

    def __init__(self) -> None:
        self.rows: list[BadgeAward] = []

    async def flush(self) -> list[sql.Statement] | None:
        if not self.rows:
            return None
        source, params = sql.values(
            [
                ("badge_id", "int"),
                ("member_id", "int"),
                ("awarded_at", "timestamp"),
                ("source", "text"),
            ],
            [(r.badge.id, r.member_id, r.awarded_at, r.source) for r in self.rows],
            1,
        )
        return [
            (
                "INSERT INTO badge_award (badge_id, member_id, awarded_at, source)"
                f" SELECT badge_id, member_id, awarded_at, source FROM ({source}) AS v WHERE TRUE"
                " ON CONFLICT (member_id, badge_id) DO NOTHING",
                params,
            )
        ]


async def by_codes(codes: list[str]) -> dict[str, Badge]:
    return {b.code: b for b in await Badge.filter(code__in=codes)}
