"""Domain events and the unit of work: one transaction, set-based writes, an outbox row.

A lower package raises an event (`emit`) instead of calling a higher one; server wires the
reactions:

- `within(Type, handler)` + `await raise_event(e)`: a reaction that must commit or roll back
  with its cause runs inside the raising transaction (an order counted as a game action).
- `before_commit(Type, handler)`: a reaction to every `emit`ted event of that type, run at
  the end of the unit, inside its transaction (a completed mission's inbox notification).
- `on(Type, handler)`: an after-commit reaction. The event is kept in the unit's outbox row,
  so a crash before the handler ran does not lose it: the relay runs it later. Handlers must
  therefore be idempotent.
- Redis effects (leaderboard scores, live messages) are outbox parts (core/outbox.py).

`unit_of_work()` is the one way domain code opens a write transaction. Inside it, writes
that many steps contribute rows to (ledger postings, mission progress, ...) go to
`buffer(Kind)` objects, flushed in ONE statement per table just before commit, so a write's
statement count does not grow with the number of missions or credits. Then the unit's
events become one outbox row, the transaction commits, and the relay applies the row at once.
A rolled back unit writes and dispatches nothing.

`unit_cache()` holds what many steps of one unit read again; `defs_version` is the version
of the definitions the unit has seen (core/definitions.py).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from tortoise.transactions import in_transaction

from core import outbox, sql
from core.pubsub import MemberEvent

log = logging.getLogger(__name__)

__all__ = ["Buffer", "MemberEvent", "Unit", "emit", "on", "unit_of_work", "within"]

Handler = Callable[[Any], Awaitable[None]]
_within: dict[type, list[Handler]] = defaultdict(list)
_before_commit: dict[type, list[Handler]] = defaultdict(list)


class Buffer:
    """Rows a unit of work writes at its end, in one statement per table.

    Subclasses collect rows through their own methods; `flush()` runs what must be answered
    now (a conditional UPDATE whose RETURNING tells whether it took) and returns the other
    statements, whose results nobody reads: the unit sends those together, in one round trip
    on PostgreSQL (core/sql.execute_all). `order` sets the order of the flushes.
    """

    order: ClassVar[int] = 100

    async def flush(self) -> Sequence[sql.Statement | sql.Checked] | None:
        raise NotImplementedError


B = TypeVar("B", bound=Buffer)


@dataclass
class Unit:
    events: list[Any] = field(default_factory=list)
    cache: dict[Any, Any] = field(default_factory=dict)
    buffers: dict[type[Buffer], Buffer] = field(default_factory=dict)
    defs_version: int | None = None
    reacted: int = 0  # events whose before-commit reactions have run
    pending: list[sql.Statement | sql.Checked] = field(default_factory=list)  # flushed, unsent
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


_unit: ContextVar[Unit | None] = ContextVar("unit_of_work", default=None)


def on(event_type: type, handler: Handler) -> None:
    """Run `handler(event)` after the unit that emitted it commits (idempotent handlers)."""
    outbox.handle(event_type, handler)


def off(event_type: type, handler: Handler) -> None:
    """Undo `on` or `within` (tests register handlers for one test)."""
    outbox.unhandle(event_type, handler)
    for registry in (_within, _before_commit):
        if handler in registry.get(event_type, ()):
            registry[event_type].remove(handler)


def within(event_type: type, handler: Handler) -> None:
    """Run `handler` INSIDE the raising transaction when `event_type` is raised with `raise_event`.

    For reactions that must commit or roll back with the cause (an order counted as a game
    action by missions), without the lower package importing the higher one.
    """
    if handler not in _within[event_type]:
        _within[event_type].append(handler)


def before_commit(event_type: type, handler: Handler) -> None:
    """Run `handler(event)` for each emitted `event_type`, at the end of the unit, inside
    its transaction (after the steps that emitted it, before the outbox row is written)."""
    if handler not in _before_commit[event_type]:
        _before_commit[event_type].append(handler)


async def raise_event(event: Any) -> None:
    """Run the in-transaction reactions to `event` now, then queue it like `emit`."""
    for handler in _within.get(type(event), ()):
        await handler(event)
    emit(event)


def clear_handlers() -> None:
    _within.clear()
    _before_commit.clear()
    outbox.clear()


def current() -> Unit | None:
    return _unit.get()


def unit_cache() -> dict[Any, Any] | None:
    """A dict that lives as long as the current unit of work (None outside one).

    For rows many steps of one write read again: read once per transaction, never across
    transactions, so it is never stale.
    """
    unit = _unit.get()
    return unit.cache if unit is not None else None


def buffer(kind: type[B]) -> B:
    """The current unit's buffer of this kind, created on first use."""
    unit = _unit.get()
    if unit is None:
        raise RuntimeError("buffer() outside unit_of_work()")
    found = unit.buffers.get(kind)
    if found is None:
        found = unit.buffers[kind] = kind()
    return found  # type: ignore[return-value]


async def _drain(unit: Unit) -> list[sql.Statement | sql.Checked]:
    """Flush every buffer; the statements they leave for the unit to send."""
    # A buffer's flush may fill a later one (the ledger raises events, grants badges ...).
    while unit.buffers:
        kind = min(unit.buffers, key=lambda k: k.order)
        left = await unit.buffers.pop(kind).flush() or []
        unit.pending.extend(left)  # after the flush: it may have settled the earlier ones
    pending, unit.pending = unit.pending, []
    return pending


async def settle() -> None:
    """Send the statements earlier buffers left unsent, for a later buffer's flush that reads
    what they write (a message quoting the balance a credit of this unit changed)."""
    unit = _unit.get()
    if unit is not None and unit.pending:
        pending, unit.pending = unit.pending, []
        await sql.execute_all(pending)


async def flush() -> None:
    """Write every buffer now (before reading back rows they hold); a no-op outside a unit."""
    unit = _unit.get()
    if unit is not None:
        await sql.execute_all(await _drain(unit))


async def _finish(unit: Unit) -> outbox.Entry | None:
    """The unit's end: before-commit reactions (which may buffer more), every buffer, and the
    outbox row, the buffers' last statements and the row sent together."""
    pending: list[sql.Statement | sql.Checked] = []
    while True:
        fresh = unit.events[unit.reacted :]
        unit.reacted = len(unit.events)
        for event in fresh:
            for handler in _before_commit.get(type(event), ()):
                await handler(event)
        pending += await _drain(unit)
        if unit.reacted == len(unit.events):
            break
    drafted = outbox.draft(unit.events)
    if drafted is None:
        await sql.execute_all(pending)
        return None
    found = await sql.execute_all(pending, drafted.statement)
    assert found is not None
    return drafted.entry(int(found["id"]))


def after_commit(callback: Callable[[], Awaitable[None]]) -> None:
    """Run `callback` once the current unit has committed (not if it rolls back)."""
    unit = _unit.get()
    if unit is None:
        raise RuntimeError("after_commit() outside unit_of_work()")
    unit.after_commit.append(callback)


def emit(event: Any) -> None:
    """Queue `event` until the current unit of work commits."""
    unit = _unit.get()
    if unit is None:
        raise RuntimeError("emit() outside unit_of_work()")
    unit.events.append(event)


@asynccontextmanager
async def unit_of_work() -> AsyncIterator[list[Any]]:
    """One database transaction; its buffers flush at its end, its events go out after commit.

    Nested units join the outer one: everything is written and sent when the outermost ends.
    """
    outer = _unit.get()
    if outer is not None:
        yield outer.events
        return
    unit = Unit()
    token = _unit.set(unit)
    entry: outbox.Entry | None = None
    try:
        async with in_transaction():
            yield unit.events
            entry = await _finish(unit)
    finally:
        _unit.reset(token)
    for callback in unit.after_commit:
        try:
            await callback()
        except Exception:
            log.exception("after-commit callback %s failed", callback)
    if entry is not None:
        await outbox.relay(entry)
