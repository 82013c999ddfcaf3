"""Domain events: collected inside a transaction, dispatched after it commits.

A lower package raises an event (`emit`) instead of calling a higher one; server wires
the reactions. Two kinds: `pipeline_step(fn)` adds Redis commands for a batch of events
(leaderboard scores, live messages), all sent in ONE pipeline round trip after commit;
`on(type, handler)` runs an async handler per event for anything else. `within(type,
handler)` + `await raise_event(e)` run a reaction inside the raising transaction.

`unit_of_work()` is the one way domain code opens a write transaction: it commits, then
dispatches the events raised inside it. A rolled back unit dispatches nothing. Handler
failures are logged: the database is the source of truth and what Redis missed is
rebuilt from it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from tortoise.transactions import in_transaction

from core import redis

log = logging.getLogger(__name__)

Handler = Callable[[Any], Awaitable[None]]
PipelineStep = Callable[[list[Any], Any], None]
_handlers: dict[type, list[Handler]] = defaultdict(list)
_within: dict[type, list[Handler]] = defaultdict(list)
_steps: list[PipelineStep] = []
_pending: ContextVar[list[Any] | None] = ContextVar("pending_events", default=None)
_cache: ContextVar[dict[str, Any] | None] = ContextVar("unit_cache", default=None)


def on(event_type: type, handler: Handler) -> None:
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)


def within(event_type: type, handler: Handler) -> None:
    """Run `handler` INSIDE the raising transaction when `event_type` is raised with `raise_event`.

    For reactions that must commit or roll back with the cause (an order counted as a game
    action by missions), without the lower package importing the higher one.
    """
    if handler not in _within[event_type]:
        _within[event_type].append(handler)


async def raise_event(event: Any) -> None:
    """Run the in-transaction reactions to `event` now, then queue it like `emit`."""
    for handler in _within.get(type(event), ()):
        await handler(event)
    emit(event)


def pipeline_step(step: PipelineStep) -> None:
    """Register `step(events, pipe)`, which queues Redis commands for committed events."""
    if step not in _steps:
        _steps.append(step)


def clear_handlers() -> None:
    _handlers.clear()
    _within.clear()
    _steps.clear()


def unit_cache() -> dict[str, Any] | None:
    """A dict that lives as long as the current unit of work (None outside one).

    For rows many steps of one write read again (the program's settings, the tier list):
    read once per transaction, never across transactions, so it is never stale.
    """
    return _cache.get()


def emit(event: Any) -> None:
    """Queue `event` until the current unit of work commits."""
    pending = _pending.get()
    if pending is None:
        raise RuntimeError("emit() outside unit_of_work()")
    pending.append(event)


@asynccontextmanager
async def unit_of_work() -> AsyncIterator[list[Any]]:
    """One database transaction; its events are dispatched once it has committed.

    Nested units join the outer one: the events go out when the outermost commits.
    """
    outer = _pending.get()
    if outer is not None:
        yield outer
        return
    events: list[Any] = []
    token = _pending.set(events)
    cache_token = _cache.set({})
    try:
        async with in_transaction():
            yield events
    finally:
        _pending.reset(token)
        _cache.reset(cache_token)
    await dispatch(events)


async def dispatch(events: list[Any]) -> None:
    if not events:
        return
    if _steps:
        try:
            pipe = redis.client().pipeline(transaction=False)
            for step in _steps:
                step(events, pipe)
            if len(pipe):
                await pipe.execute()
        except Exception:
            log.warning("after-commit Redis pipeline failed; a rebuild restores it", exc_info=True)
    for event in events:
        for handler in _handlers.get(type(event), ()):
            try:
                await handler(event)
            except Exception:
                log.exception("event handler %s failed for %r", handler, event)


class MemberEvent:
    """An event the member's app sees live: published to `member:{member_id}` after commit.

    Subclasses are dataclasses with a `member_id` and a `message()` whose "type" names the
    GraphQL MemberEvent type.
    """

    member_id: int

    def message(self) -> dict[str, Any]:
        raise NotImplementedError
