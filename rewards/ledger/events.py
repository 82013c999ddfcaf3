"""The live event every change of a member's points raises."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.events import MemberEvent
from rewards.ledger.reasons import Reason


@dataclass
class PointsChanged(MemberEvent):
    member_id: int
    balance: int  # available points after the change
    delta: int
    reason: Reason
    at: datetime
    # What the POINTS_EARNED leaderboard adds: +credits for earning, -clawed back on refund.
    earned: int = 0

    def message(self) -> dict[str, Any]:
        return {
            "type": "PointsChanged",
            "balance": self.balance,
            "delta": self.delta,
            "reason": self.reason.value,
            "at": self.at.isoformat(),
        }
