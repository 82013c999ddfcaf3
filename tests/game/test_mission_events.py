"""game/missions/events.py: MissionProgressed travels packed and is read whole."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from core import pubsub
from game.missions.events import MissionProgressed
from game.missions.progress import ProgressView
from game.models import Mission


def test_one_packed_message_reads_as_each_missions_whole_snapshot() -> None:
    # given a member's standing in two missions, one completed at a known time
    at = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    done = ProgressView(
        Mission(id=7, title="Run 3 times", target=Decimal(3)),
        3.0,
        3.0,
        "2026-11-29",
        True,
        at,
        False,
        1,
    )
    going = ProgressView(
        Mission(id=9, title="Spend 500k", target=Decimal(500)),
        120.5,
        500.0,
        None,
        False,
        None,
        False,
        0,
    )
    # when the action's one event is published as the write sends it and read by a subscriber
    sent = json.dumps([MissionProgressed(42, [done.packed(), going.packed()], at).message()])
    read = pubsub.messages(sent)
    # then the reader gets one long-form message per mission, every value under its name
    assert read == [
        {
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
        },
        {
            "type": "MissionProgressed",
            "missionId": 9,
            "progress": {
                "missionId": 9,
                "progress": 120.5,
                "target": 500.0,
                "periodKey": None,
                "completed": False,
                "completedAt": None,
                "claimed": False,
                "timesCompleted": 0,
            },
            "at": at.isoformat(),
        },
    ]
    # and the message sent is less than half as long as the long form
    long_form = json.dumps(read)
    assert len(sent) < len(long_form) / 2


def test_a_message_of_one_mission_written_before_still_reads() -> None:
    # given a message in the form outbox rows held before one message carried every mission
    sent = json.dumps([{"type": "mp", "p": [7, 1.0, 3.0, None, False, None, False, 0], "at": "x"}])
    # when a subscriber's process reads it
    (read,) = pubsub.messages(sent)
    # then it is that mission's MissionProgressed
    assert read["type"] == "MissionProgressed" and read["missionId"] == 7
    assert read["progress"]["progress"] == 1.0 and read["at"] == "x"
