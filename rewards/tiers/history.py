"""The tier-change log: every move between tiers, written in the transaction that moves it.

server/wiring.py runs `on_tier_changed` before each unit that moved a tier commits; the
care history reads the log (member_state only keeps the tier held now).
"""

from __future__ import annotations

from members.models import TierChange
from rewards.tiers.service import TierChanged


async def on_tier_changed(event: TierChanged) -> None:
    await TierChange.create(
        member_id=event.member_id,
        from_code=event.from_code,
        to_code=event.to_code,
        changed_at=event.at,
    )
