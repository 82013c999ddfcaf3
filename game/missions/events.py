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
_PACKED = "mps"  # all the missions an action moved, in one message
_PACKED_ONE = "mp"  # one mission a message: what outbox rows written before "mps" still hold


@dataclass
class MissionProgressed(MemberEvent):
    """The member's progress moved in these missions (an action moves up to every live mission
    of its type: one event, one message, for all of them)."""

    member_id: int
    # ProgressView.packed() of each mission: the snapshot's values in SNAPSHOT_KEYS order.
    progress: list[list[Any]]
    at: datetime
    # `progress` as JSON, when the writer has it encoded already (it stores it too).
    progress_json: str | None = None

    def message(self) -> dict[str, Any]:
        """Packed: the snapshots' values without their keys, all in one message; a
        subscriber's process unpacks it into one MissionProgressed message per mission."""
        return {"type": _PACKED, "p": self.progress, "at": self.at.isoformat()}

    def encoded(self) -> str:
        if self.progress_json is None:
            return super().encoded()
        return f'{{"type":"{_PACKED}","p":{self.progress_json},"at":"{self.at.isoformat()}"}}'


def _long(values: list[Any], at: str) -> dict[str, Any]:
    progress = dict(zip(SNAPSHOT_KEYS, values, strict=True))
    return {
        "type": "MissionProgressed",
        "missionId": progress["missionId"],
        "progress": progress,
        "at": at,
    }


def unpack(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The MissionProgressed messages a packed one stands for, one per mission."""
    return [_long(values, message["at"]) for values in message["p"]]


def unpack_one(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [_long(message["p"], message["at"])]


pubsub.packed(_PACKED, unpack)
pubsub.packed(_PACKED_ONE, unpack_one)


@dataclass
class MissionCompleted:
    """A member completed a mission (once per completion); for notifications and analytics."""

    member_id: int
    mission_id: int
    title: str
    period_key: str | None
    at: datetime
