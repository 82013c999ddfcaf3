"""Who a mission is for: tier and segment targeting, checked once per member per call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from members.models import Member


@dataclass
class Audience:
    """Answers "is this member targeted?" for many missions, asking each question once."""

    member: Member
    _tier: Any = None
    _tier_loaded: bool = False
    _segments: dict[int, bool] = field(default_factory=dict)

    async def tier_code(self) -> str | None:
        if not self._tier_loaded:
            from rewards import tiers

            tier = await tiers.current_tier(self.member)
            self._tier = tier.code if tier else None
            self._tier_loaded = True
        return self._tier  # type: ignore[no-any-return]

    async def in_segment(self, segment_id: int) -> bool:
        if segment_id not in self._segments:
            from members import segments

            self._segments[segment_id] = bool(await segments.contains(segment_id, self.member.id))
        return self._segments[segment_id]

    async def includes(self, tier_codes: list[str] | None, segment_id: int | None) -> bool:
        if tier_codes is not None and await self.tier_code() not in tier_codes:
            return False
        return segment_id is None or await self.in_segment(segment_id)
