"""Connects domain events to their reactions (the only place that knows both sides)."""

from __future__ import annotations

import json
from typing import Any

from core import events, redis


def _publish_member_events(batch: list[Any], pipe: Any) -> None:
    for event in batch:
        if isinstance(event, events.MemberEvent):
            channel = redis.key("ch", f"member:{event.member_id}")
            pipe.publish(channel, json.dumps(event.message(), default=str))


def wire() -> None:
    """Register every after-commit reaction; idempotent."""
    # Same channel naming as core.pubsub.publish: key("ch", name).
    events.pipeline_step(_publish_member_events)
