"""The program's definitions in memory: read once per process, reloaded when their version moves.

Definitions (the program's settings, tiers, action types, missions, stamp cards, promotions,
badges, boards, voucher offers, wheels) change rarely and are read by every write. Each
package registers a loader for its part (`loader(name, fn)`, in server/wiring.py); `get()`
returns an immutable `Snapshot` of all parts.

Every change to a definition calls `changed()` inside its unit of work: it bumps the
version row in that transaction and, after commit, announces the new version on Redis, so
every process drops its snapshot. A write never applies a stale rule: inside a unit of
work `get()` checks the version the unit sees in the database (a hot path folds that read
into its first statement and hands it over with `seen(version)`) and reloads first when it
moved. Reads outside a unit use the snapshot until an announcement or MAX_AGE says
otherwise.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from core import events, pubsub, sql

log = logging.getLogger(__name__)

CHANNEL = "definitions"
MAX_AGE = 5.0  # seconds a read outside a write trusts the snapshot without asking
VERSION_SQL = "SELECT version FROM definitions_version WHERE id = 1"
# A scalar subquery hot paths add to their first statement instead of a round trip.
VERSION_SUBQUERY = f"({VERSION_SQL})"

Loader = Callable[[], Awaitable[Any]]
_loaders: dict[str, Loader] = {}


@dataclass(frozen=True)
class Snapshot:
    version: int
    parts: Mapping[str, Any]
    loaded_at: float

    def __getitem__(self, name: str) -> Any:
        return self.parts[name]


_current: Snapshot | None = None
_checked_at = 0.0  # when a read outside a write last confirmed the snapshot's version
_stale = True
_lock = asyncio.Lock()
_listener: asyncio.Task[None] | None = None


def loader(name: str, load: Loader) -> None:
    """Register the loader of one part (its result is shared: never mutate it)."""
    _loaders[name] = load
    forget()


def forget() -> None:
    """Drop this process's snapshot: the next `get()` reloads."""
    global _stale, _current
    _stale = True
    _current = None


async def read_version() -> int:
    found = await sql.row(VERSION_SQL)
    return int(found["version"]) if found else 0


def seen(version: int | None) -> None:
    """The current unit read the version itself (in its first statement)."""
    unit = events.current()
    if unit is not None and unit.defs_version is None:
        unit.defs_version = int(version or 0)


async def get() -> Snapshot:
    """The definitions as the current write sees them, or as last loaded for a read."""
    unit = events.current()
    if unit is not None:
        if unit.cache.get("definitions") is not None:
            return unit.cache["definitions"]  # type: ignore[no-any-return]
        if unit.defs_version is None:
            unit.defs_version = await read_version()
        if unit.cache.get("definitions_changed"):
            # This unit changed them: read its own uncommitted view, never share it.
            snapshot = await _load(unit.defs_version)
            unit.cache["definitions"] = snapshot
            return snapshot
        return await _at(unit.defs_version)
    global _checked_at
    current = _current
    now = time.monotonic()
    if current is None or _stale or now - _checked_at > MAX_AGE:
        snapshot = await _at(await read_version())
        _checked_at = now
        return snapshot
    return current


async def hint() -> Snapshot:
    """The definitions as this process last loaded them, without asking the database: for
    what a write prepares BEFORE its first statement (which reads the version and makes it
    re-check), never for applying a rule."""
    current = _current
    if current is not None and not _stale:
        return current
    return await _at(await read_version())


async def _at(version: int) -> Snapshot:
    global _current, _stale
    current = _current
    if current is not None and current.version == version and not _stale:
        return current
    if _lock.locked() and events.current() is not None:
        # Whoever holds the lock may be waiting for the connection this unit holds (SQLite's
        # only one, a full pool's last): waiting for it would deadlock, so load a copy here.
        return await _load(version)
    async with _lock:
        current = _current
        if current is not None and current.version == version and not _stale:
            return current
        # Marked fresh before loading: an announcement arriving meanwhile marks it stale.
        _stale = False
        snapshot = await _load(version)
        if _current is None or _current.version <= version:
            _current = snapshot
        return snapshot


async def _load(version: int) -> Snapshot:
    parts = {name: await load() for name, load in _loaders.items()}
    return Snapshot(version, MappingProxyType(parts), time.monotonic())


async def changed() -> None:
    """A definition changed in the current unit of work: bump the version with it."""
    unit = events.current()
    if unit is None:
        raise RuntimeError("definitions.changed() outside unit_of_work()")
    found = await sql.row(
        "INSERT INTO definitions_version (id, version) VALUES (1, 1)"
        " ON CONFLICT (id) DO UPDATE SET version = definitions_version.version + 1"
        " RETURNING version"
    )
    assert found is not None
    unit.defs_version = int(found["version"])
    unit.cache["definitions_changed"] = True
    unit.cache.pop("definitions", None)
    if not unit.cache.get("definitions_announce"):
        unit.cache["definitions_announce"] = True
        events.after_commit(_announce)


async def _announce() -> None:
    forget()
    try:
        await pubsub.publish(CHANNEL, {"type": "changed"})
    except Exception:
        log.warning("could not announce a definitions change; others notice within %ss", MAX_AGE)


async def listen() -> None:
    """Drop the snapshot whenever another process announces a change (runs per process)."""
    while True:
        try:
            async with pubsub.hub.listen(CHANNEL) as queue:
                while True:
                    await queue.get()
                    forget()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("definitions listener failed; retrying", exc_info=True)
            forget()
            await asyncio.sleep(1.0)


def start_listening() -> None:
    global _listener
    if _listener is None or _listener.done():
        _listener = sql.spawn(listen(), name="definitions")


async def stop_listening() -> None:
    global _listener, _current
    if _listener is not None:
        _listener.cancel()
        # Bounded: a cancelled listener may wait on a pub/sub connection being closed.
        await asyncio.wait({_listener}, timeout=2)
    _listener = None
    _current = None
    forget()
