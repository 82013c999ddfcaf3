"""Connects domain events to their reactions (the only place that knows both sides)."""

from __future__ import annotations

import json
from typing import Any

from core import events, redis
from engage import segment_rules, transactional
from game import actions as game_actions
from game.leaderboards import updates as leaderboard_updates
from game.missions.events import MissionCompleted
from rewards.orders import OrderCompleted
from rewards.tiers import TierChanged


def _publish_member_events(batch: list[Any], pipe: Any) -> None:
    for event in batch:
        if isinstance(event, events.MemberEvent):
            channel = redis.key("ch", f"member:{event.member_id}")
            pipe.publish(channel, json.dumps(event.message(), default=str))


def wire() -> None:
    """Register every after-commit reaction; idempotent."""
    # Same channel naming as core.pubsub.publish: key("ch", name).
    events.pipeline_step(_publish_member_events)
    # Leaderboard scores: one Lua call per committed unit of work, all boards and windows.
    events.pipeline_step(leaderboard_updates.pipeline_step)
    # Every recorded order is also the built-in `order` game action, in the same transaction.
    events.within(OrderCompleted, game_actions.on_order_completed)
    # Segment rules over tiers, the ledger, orders and RFM (members/ cannot import them).
    segment_rules.register()
    # Transactional notifications: to the inbox after the cause has committed.
    events.on(TierChanged, transactional.on_tier_changed)
    events.on(MissionCompleted, transactional.on_mission_completed)
