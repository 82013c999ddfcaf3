"""Mission events: MissionProgressed (live, to the member's app) and MissionCompleted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.events import MemberEvent


@dataclass
class MissionProgressed(MemberEvent):
    member_id: int
    mission_id: int
    # ProgressView.snapshot(): progress, target, periodKey, completed, ... as JSON values.
    progress: dict[str, Any]
    at: datetime

    def message(self) -> dict[str, Any]:
        return {
            "type": "MissionProgressed",
            "missionId": self.mission_id,
            "progress": self.progress,
            "at": self.at.isoformat(),
        }


@dataclass
class MissionCompleted:
    """A member completed a mission (once per completion); for notifications and analytics."""

    member_id: int
    mission_id: int
    title: str
    period_key: str | None
    at: datetime
