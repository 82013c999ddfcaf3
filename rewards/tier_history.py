"""The tier-change log: every move between tiers, written in the transaction that moves it.

rewards/tiers.py calls `record` from the one place tiers move (`_move`); the care history
reads the log (the MemberTier row only keeps the tier held now).
"""

from __future__ import annotations

from datetime import datetime

from members.models import TierChange


async def record(member_id: int, from_code: str | None, to_code: str | None, at: datetime) -> None:
    await TierChange.create(
        member_id=member_id, from_code=from_code, to_code=to_code, changed_at=at
    )
