"""From committed domain events to score changes: the outbox part "leaderboards".

server/wiring.py registers `collect` and `apply` with core.outbox: at the end of each unit
of work `collect` turns its events into the ARGV of ONE Lua call (stored in the outbox row),
and after commit `apply` queues that call, guarded by the row's marker (store.marker, inside
the leaderboards' hash tag, set NX by the same script) so a retried relay never counts twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core import redis
from game.actions import ActionTracked
from game.leaderboards import scoring, store
from game.leaderboards.store import Change
from rewards.ledger.events import PointsChanged
from rewards.tiers.service import TierPointsChanged


@dataclass
class LeaderboardVisibilityChanged:
    """A member hid or showed themselves: boards they are on show them differently."""

    member_id: int


def change_of(event: Any) -> Change | None:
    if isinstance(event, PointsChanged):
        if not event.earned:
            return None  # spending, expiry, vouchers: POINTS_EARNED does not move
        return Change("P", event.member_id, delta=event.earned, at=event.at)
    if isinstance(event, TierPointsChanged):
        if not event.delta:
            return None
        return Change("T", event.member_id, delta=event.delta, at=event.at)
    if isinstance(event, ActionTracked):
        return Change(
            "A",
            event.member_id,
            delta=1,
            delta2=scoring.whole_units(event.value),
            at=event.occurred_at,
            action_type=event.action_type,
        )
    if isinstance(event, LeaderboardVisibilityChanged):
        return Change("V", event.member_id)
    return None


def changes_of(events: Sequence[Any]) -> list[Change]:
    return [c for c in (change_of(e) for e in events) if c is not None]


def collect(events: list[Any]) -> list[str] | None:
    changes = changes_of(events)
    return store.update_args(changes) if changes else None


def apply(row_id: int, args: list[str], pipe: redis.Scripts) -> None:
    if args and not args[0].startswith("{"):
        # Written before the keys were hash-tagged (ARGV[1] was '<prefix>:lbz'): the boards
        # were rebuilt from the database since (their `built` mark is new), which counts it.
        return
    store.queue_args(pipe, row_id, args)
