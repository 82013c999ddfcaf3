"""game/missions/events.py: MissionProgressed travels packed and is read whole."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from core import pubsub
from game.missions.events import MissionProgressed
from game.missions.progress import ProgressView
from game.models import Mission


def test_a_packed_progress_message_reads_as_the_whole_snapshot() -> None:
    # given a member's standing in a mission, completed at a known time
    at = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    mission = Mission(id=7, title="Run 3 times", target=Decimal(3))
    view = ProgressView(mission, 3.0, 3.0, "2026-11-29", True, at, False, 1)
    # when its event is published as the write sends it and read by a subscriber
    sent = json.dumps([MissionProgressed(42, 7, view.packed(), at).message()])
    (read,) = pubsub.messages(sent)
    # then the reader gets the long form, every value under its name, in a shorter message
    assert read == {
        "type": "MissionProgressed",
        "missionId": 7,
        "progress": {
            "missionId": 7,
            "progress": 3.0,
            "target": 3.0,
            "periodKey": "2026-11-29",
            "completed": True,
            "completedAt": at.isoformat(),
            "claimed": False,
            "timesCompleted": 1,
        },
        "at": at.isoformat(),
    }
    long_form = json.dumps([{**read}])
    assert len(sent) < len(long_form) / 2
