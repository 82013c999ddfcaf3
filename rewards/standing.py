"""What every screen shows of a member, read in ONE indexed statement: the member row, their
state (lifetime and counted tier points, tier held, grace) and both ledger balances.

Writes keep these current (rewards/member_state.py, the ledger's accounts), so `me`, the
home screen and member lists read them instead of summing postings or tier entries. The
tier shown comes from the in-memory tier definitions; counted tier points that went stale
under a rolling window (member_state.tier_points_until passed) are recounted for those
members only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core import clock, sql
from members.models import Member
from members.program import get_program
from rewards import member_state
from rewards.tiers import service as tiers
from rewards.tiers.service import TierStatus

_COLUMNS = (
    "s.lifetime AS st_lifetime, s.tier_points AS st_tier_points,"
    " s.tier_points_until AS st_tier_points_until, s.tier_code AS st_tier_code,"
    " s.grace_until AS st_grace_until,"
    " (SELECT balance FROM ledger_account WHERE member_id = m.id AND kind = 'AVAILABLE')"
    " AS st_available,"
    " (SELECT balance FROM ledger_account WHERE member_id = m.id AND kind = 'PENDING')"
    " AS st_pending"
)


@dataclass(frozen=True)
class Standing:
    member_id: int
    available: int
    pending: int
    lifetime: int
    tier: TierStatus


async def _standing(member_id: int, row: dict[str, Any], now: datetime) -> Standing:
    points = int(row["st_tier_points"] or 0)
    until = sql.decode_datetime(row["st_tier_points_until"])
    if until is not None and now >= until:
        since = tiers.window_start(await get_program(), now)
        points, _ = await member_state.recount(member_id, since)
    status = tiers.status_of(
        await tiers.list_tiers(),
        row["st_tier_code"],
        sql.decode_datetime(row["st_grace_until"]),
        max(0, points),
    )
    return Standing(
        member_id=member_id,
        available=int(row["st_available"] or 0),
        pending=int(row["st_pending"] or 0),
        lifetime=int(row["st_lifetime"] or 0),
        tier=status,
    )


async def of_members(member_ids: Sequence[int]) -> dict[int, Standing]:
    """The standing of many members in one statement (the DataLoader's fetch)."""
    if not member_ids:
        return {}
    where, params = sql.id_list(list(member_ids), 1)
    found = await sql.rows(
        f"SELECT m.id AS member_id, {_COLUMNS} FROM member m"
        f" LEFT JOIN member_state s ON s.member_id = m.id WHERE m.id {where}",
        params,
    )
    now = clock.now()
    return {int(r["member_id"]): await _standing(int(r["member_id"]), r, now) for r in found}


async def member_with_standing(member_id: int) -> tuple[Member, Standing] | None:
    """The member row and its standing in one indexed read (None: no such member)."""
    row = await sql.row(
        f"SELECT m.*, {_COLUMNS} FROM member m"
        " LEFT JOIN member_state s ON s.member_id = m.id WHERE m.id = $1",
        [member_id],
    )
    if row is None:
        return None
    member = Member._init_from_db(**{k: v for k, v in row.items() if not k.startswith("st_")})
    return member, await _standing(member_id, row, clock.now())
