"""Mission events: MissionProgressed (live, to the member's app) and MissionCompleted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core import pubsub
from core.events import MemberEvent

# ProgressView.snapshot()'s keys, in the order a packed message lists their values.
SNAPSHOT_KEYS = (
    "missionId",
    "progress",
    "target",
    "periodKey",
    "completed",
    "completedAt",
    "claimed",
    "timesCompleted",
)
_PACKED = "mp"  # short: it is sent once per mission an action moves


@dataclass
class MissionProgressed(MemberEvent):
    member_id: int
    mission_id: int
    # ProgressView.packed(): the snapshot's values in SNAPSHOT_KEYS order, as JSON values.
    progress: list[Any]
    at: datetime

    def message(self) -> dict[str, Any]:
        """Packed: the snapshot's values without their keys (an action sends one per mission
        it moves); a subscriber's process unpacks it (`unpack`)."""
        return {"type": _PACKED, "p": self.progress, "at": self.at.isoformat()}


def unpack(message: dict[str, Any]) -> dict[str, Any]:
    """The MissionProgressed message a packed one stands for."""
    progress = dict(zip(SNAPSHOT_KEYS, message["p"], strict=True))
    return {
        "type": "MissionProgressed",
        "missionId": progress["missionId"],
        "progress": progress,
        "at": message["at"],
    }


pubsub.packed(_PACKED, unpack)


@dataclass
class MissionCompleted:
    """A member completed a mission (once per completion); for notifications and analytics."""

    member_id: int
    mission_id: int
    title: str
    period_key: str | None
    at: datetime
