"""What messages need to know about their members, read once per batch: the name, the
spendable balance and the tier (for placeholders), the phone and email (the addresses of
SMS, ZALO and EMAIL), and whether the member was erased.

One statement per batch of members (the member row, their member_state and their
available-points account), whatever the batch's size; none for a member the current unit
locked with their face (rewards.member_state.face_peek: an action that may complete a
mission reads it with its lock), whose balance and tier are then the unit's own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from core import sql
from core.events import settle
from engage import wording
from members.consents import Channel
from rewards import member_state
from rewards.tiers import service as tiers

_SQL = """
SELECT m.id, m.display_name, m.phone, m.email, m.erased_at, s.tier_code, a.balance
FROM member m
LEFT JOIN member_state s ON s.member_id = m.id
LEFT JOIN ledger_account a ON a.member_id = m.id AND a.kind = 'AVAILABLE'
WHERE m.id {ids}
"""
CHUNK = 1000


@dataclass(frozen=True)
class Recipient:
    member_id: int
    display_name: str
    phone: str | None
    email: str | None
    erased: bool
    tier_code: str | None
    balance: int

    def address(self, channel: Channel) -> str | None:
        """Where a message on `channel` goes (PUSH: the member, through the app)."""
        if channel in (Channel.SMS, Channel.ZALO):
            return self.phone
        if channel is Channel.EMAIL:
            return self.email
        return str(self.member_id)


async def of(member_ids: Iterable[int], *, current: bool = False) -> dict[int, Recipient]:
    """The members' recipients; `current`: their balance and tier must include what this
    unit wrote (a message quoting them), so its buffers are sent before a read."""
    found: dict[int, Recipient] = {}
    rest: list[int] = []
    for member_id in sorted(set(member_ids)):
        known = member_state.face(member_id)
        if known is None:
            rest.append(member_id)
            continue
        state, (name, phone, email, erased_at) = known
        found[member_id] = Recipient(
            member_id, name, phone, email, erased_at is not None, state.tier_code, state.available
        )
    if rest and current:
        await settle()
    for start in range(0, len(rest), CHUNK):
        where, params = sql.id_list(rest[start : start + CHUNK], 1)
        for row in await sql.rows(_SQL.format(ids=where), params):
            found[int(row["id"])] = _recipient(row)
    return found


def _recipient(row: dict[str, Any]) -> Recipient:
    return Recipient(
        member_id=int(row["id"]),
        display_name=row["display_name"],
        phone=row["phone"],
        email=row["email"],
        erased=row["erased_at"] is not None,
        tier_code=row["tier_code"],
        balance=int(row["balance"] or 0),
    )


async def tier_names() -> dict[str, str]:
    return {t.code: t.name for t in await tiers.list_tiers()}


def values(r: Recipient, names: dict[str, str]) -> dict[str, str]:
    """The member's own placeholder values, worded."""
    return {
        "displayName": r.display_name,
        "pointsBalance": wording.points(r.balance),
        "tierName": names.get(r.tier_code or "", ""),
    }
