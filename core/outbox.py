"""The transactional outbox: a write's after-commit effects, stored with the write, applied once.

At the end of a unit of work (core/events.py), its events become ONE `outbox` row in the
same transaction: each registered part (`part(name, collect, apply)`) collects what it needs
from the events (leaderboard changes, live messages), and events that have after-commit
handlers (`handle(Type, fn)`) are kept too. After commit the relay applies the row at once:
every part adds its Redis commands to one pipeline (one round trip), then the handlers run,
then the row is deleted (in batches, off the request path).

Each part's Redis commands are idempotent per row id (they check and set a marker key in
the same script), and handlers must be idempotent, so a relay that is retried, after a
Redis stall or by another process, never doubles anything. A row whose relay failed, or
whose process died, stays claimed for CLAIM seconds; then `sweep()` (a loop in every
server process, and a job) applies it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import json
import logging
import typing
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from core import clock, redis, sql

log = logging.getLogger(__name__)

CLAIM = timedelta(seconds=30)  # how long a relay owns a row before another may take it
MAX_BACKOFF = timedelta(minutes=5)
MARKER_TTL = 7 * 24 * 3600  # seconds a part remembers it applied a row
SWEEP_BATCH = 200

Handler = Callable[[Any], Awaitable[None]]
Collect = Callable[[list[Any]], Any]
Apply = Callable[[int, Any, "redis.Scripts"], None]

_parts: dict[str, tuple[Collect, Apply]] = {}
_handlers: dict[type, list[Handler]] = defaultdict(list)
_types: dict[str, type] = {}


@dataclass
class Entry:
    id: int
    payload: dict[str, Any]
    events: list[Any] | None = None  # in memory when relayed by the writing process


def part(name: str, collect: Collect, apply: Apply) -> None:
    """Register an effect: `collect(events)` -> JSON value stored in the row (None: nothing);
    `apply(row_id, value, pipe)` queues idempotent Redis commands for it."""
    _parts[name] = (collect, apply)


def handle(event_type: type, handler: Handler) -> None:
    if not dataclasses.is_dataclass(event_type):
        raise TypeError(f"{event_type.__name__}: after-commit events must be dataclasses")
    _types[event_type.__name__] = event_type
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)


def unhandle(event_type: type, handler: Handler) -> None:
    if handler in _handlers.get(event_type, ()):
        _handlers[event_type].remove(handler)


def clear() -> None:
    _parts.clear()
    _handlers.clear()


# ----------------------------------------------------------------------- event codec


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def encode(event: Any) -> dict[str, Any]:
    data = {f.name: _encode(getattr(event, f.name)) for f in dataclasses.fields(event)}
    return {"type": type(event).__name__, "data": data}


def _decode(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    options = [a for a in typing.get_args(kind) if a is not type(None)] or [kind]
    target = options[0]
    if target is datetime:
        return datetime.fromisoformat(value)
    if target is date:
        return date.fromisoformat(value)
    if target is Decimal:
        return Decimal(value)
    if isinstance(target, type) and issubclass(target, enum.Enum):
        return target(value)
    return value


def decode(encoded: dict[str, Any]) -> Any:
    cls = _types[encoded["type"]]
    hints = typing.get_type_hints(cls)
    data = encoded["data"]
    return cls(**{name: _decode(hints.get(name), value) for name, value in data.items()})


# ----------------------------------------------------------------------- writing


def _payload(events: list[Any]) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    for name, (collect, _) in _parts.items():
        value = collect(events)
        if value:
            payload[name] = value
    handled = [encode(e) for e in events if _handlers.get(type(e))]
    if handled:
        payload["events"] = handled
    return payload


def _members(events: list[Any]) -> str:
    ids = sorted({int(m) for e in events if (m := getattr(e, "member_id", None)) is not None})
    return "," + ",".join(str(i) for i in ids) + "," if ids else ""


@dataclass
class Draft:
    """The outbox row of a unit, before it is written: its INSERT ... RETURNING id."""

    statement: sql.Statement
    payload: dict[str, Any]
    events: list[Any]

    def entry(self, row_id: int) -> Entry:
        return Entry(id=row_id, payload=self.payload, events=self.events)


def draft(events: list[Any]) -> Draft | None:
    """The row storing the effects of `events` (None: they have none)."""
    if not events:
        return None
    payload = _payload(events)
    if not payload:
        return None
    now = clock.now()
    statement = (
        "INSERT INTO outbox (created_at, claimed_until, attempts, members, payload)"
        " VALUES ($1, $2, 0, $3, $4) RETURNING id"
    )
    params = [now, now + CLAIM, _members(events), sql.json_param(payload)]
    return Draft((statement, params), payload, events)


async def write(events: list[Any]) -> Entry | None:
    """Store the effects of `events` as one row (inside the unit's transaction)."""
    drafted = draft(events)
    if drafted is None:
        return None
    found = await sql.row(*drafted.statement)
    assert found is not None
    return drafted.entry(int(found["id"]))


# ----------------------------------------------------------------------- relaying


async def _apply_redis(entries: list[Entry]) -> None:
    pipe = redis.scripts()
    for entry in entries:
        for name, value in entry.payload.items():
            if name in _parts:
                _parts[name][1](entry.id, value, pipe)
    if len(pipe):
        await pipe.execute()


async def _run_handlers(entry: Entry) -> None:
    if entry.events is not None:
        events = [e for e in entry.events if _handlers.get(type(e))]
    else:
        events = [decode(e) for e in entry.payload.get("events", ()) if e["type"] in _types]
    for event in events:
        for handler in list(_handlers.get(type(event), ())):
            await handler(event)


async def relay(entry: Entry) -> bool:
    """Apply one committed row now; False (row kept for the sweeper) if anything failed."""
    try:
        await _apply_redis([entry])
        await _run_handlers(entry)
    except Exception:
        log.warning("outbox row %s not applied yet; the relay retries it", entry.id, exc_info=True)
        return False
    _forget(entry.id)
    return True


async def sweep(limit: int = 10 * SWEEP_BATCH) -> int:
    """Apply rows whose relay failed or whose process died; returns how many were applied."""
    applied = 0
    while applied < limit:
        now = clock.now()
        skip = " FOR UPDATE SKIP LOCKED" if sql.dialect() == "postgres" else ""
        rows = await sql.rows(
            "UPDATE outbox SET claimed_until = $1, attempts = attempts + 1 WHERE id IN ("
            f"SELECT id FROM outbox WHERE claimed_until <= $2 ORDER BY id LIMIT $3{skip})"
            " RETURNING id, attempts, payload",
            [now + CLAIM, now, SWEEP_BATCH],
        )
        if not rows:
            break
        entries = [Entry(int(r["id"]), json.loads(r["payload"])) for r in rows]
        try:
            await _apply_redis(entries)
        except Exception:
            log.warning("outbox: %d row(s) not applied; retrying later", len(rows), exc_info=True)
            await _back_off(rows, now)
            break
        done: list[int] = []
        for entry in entries:
            try:
                await _run_handlers(entry)
                done.append(entry.id)
            except Exception:
                log.exception("outbox row %s: a handler failed; retrying later", entry.id)
        await _delete(done)
        applied += len(done)
        if len(rows) < SWEEP_BATCH:
            break
    return applied


async def _back_off(rows: list[dict[str, Any]], now: datetime) -> None:
    for r in rows:
        delay = min(CLAIM * 2 ** min(int(r["attempts"]), 10), MAX_BACKOFF)
        await sql.execute(
            "UPDATE outbox SET claimed_until = $1 WHERE id = $2", [now + delay, int(r["id"])]
        )


async def pending(member_id: int | None = None) -> int:
    """Rows not applied yet (all, or those touching one member)."""
    if member_id is None:
        found = await sql.row("SELECT COUNT(*) AS n FROM outbox")
    else:
        found = await sql.row(
            "SELECT COUNT(*) AS n FROM outbox WHERE members LIKE $1", [f"%,{member_id},%"]
        )
    return int(found["n"]) if found else 0


async def pending_members() -> set[int]:
    """Every member with a row not applied yet (one read of the `members` column)."""
    found = await sql.rows("SELECT members FROM outbox WHERE members <> ''")
    return {int(m) for r in found for m in str(r["members"]).split(",") if m}


# ----------------------------------------------------------------------- deleting applied rows

_done: list[int] = []
_deleter: asyncio.Task[None] | None = None
DELETE_DELAY = 0.05  # seconds: applied rows of concurrent writes go in one DELETE


def _forget(row_id: int) -> None:
    global _deleter
    _done.append(row_id)
    if _deleter is None or _deleter.done():
        _deleter = sql.spawn(_delete_soon(), name="outbox-delete")


async def _delete_soon() -> None:
    await asyncio.sleep(DELETE_DELAY)
    await drain()


async def drain() -> None:
    """Delete the rows relayed so far (also at shutdown)."""
    while _done:
        batch = _done[:1000]
        del _done[: len(batch)]
        try:
            await _delete(batch)
        except Exception:
            # Harmless: the sweeper applies them again, and every part skips what it did.
            log.warning("outbox: could not delete %d applied row(s)", len(batch), exc_info=True)
            return


async def _delete(ids: list[int]) -> None:
    if ids:
        where, params = sql.id_list(ids, 1)
        await sql.housekeeping(f"DELETE FROM outbox WHERE id {where}", params)


async def close() -> None:
    global _deleter
    if _deleter is not None and not _deleter.done():
        _deleter.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await _deleter
    _deleter = None
    await drain()


async def loop(interval: float = 1.0) -> None:
    """Sweep forever (every server process runs this)."""
    while True:
        try:
            await sweep()
        except Exception:
            log.warning("outbox sweep failed", exc_info=True)
        await asyncio.sleep(interval)


def marker(name: str, row_id: int) -> str:
    """The key a part sets when it applied a row (its scripts run SET NX on it)."""
    return redis.key("ob", name, row_id)
