"""Live boards: a fresh top-N snapshot whenever a board changes, a few per second at most.

How a change reaches every socket, whichever process holds it:
1. The after-commit Lua script marks (board, period) pending for PENDING_MS and, only when
   it set the mark, publishes "board|PERIOD" on the dirty channel (core.pubsub): however many
   events arrive, at most one dirty message per board and period per PENDING_MS.
2. Every process with sockets watching that board hears it. The changes a dirty message
   stands for land within PENDING_MS of it, so the process reads the board no earlier than
   BUILD_DELAY after the latest dirty message it heard, and again if another arrives while
   it reads: every change is in some snapshot, and a board yields at most one snapshot per
   BUILD_DELAY per process.
3. The snapshot (top MAX_FIRST with public names, one Redis call and one query) is built
   ONCE per process and handed to all its sockets, which slice their own `first`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from core import clock, pubsub
from game.leaderboards import definitions, reading, store
from game.leaderboards.reading import MAX_FIRST, PublicView, public_view
from game.leaderboards.windows import Period, window
from rewards.tiers.service import statuses

log = logging.getLogger(__name__)

BUILD_DELAY = store.PENDING_MS / 1000 + 0.05
_QUEUE = 4  # snapshots a slow socket may fall behind; older ones are dropped

Name = tuple[str, Period]


async def tier_codes(member_ids: list[int]) -> dict[int, str | None]:
    found = await statuses(member_ids)
    return {m: (s.tier.code if s.tier else None) for m, s in found.items()}


async def snapshot(board_key: str, period: Period) -> dict[str, Any]:
    """The board's current top MAX_FIRST as plain data (shared, read-only)."""
    board = await definitions.get_board(board_key)
    w = window(period, clock.now(), await store.current_zone())
    part = await store.read(board.key, w.key, MAX_FIRST, None, -1)
    ids = [s.member_id for s in part.top]
    members = await reading.faces(ids) if ids else {}
    tiers = await tier_codes(ids) if ids else {}
    entries = []
    for s in part.top:
        face = public_view(members.get(s.member_id), s.rank, tiers.get(s.member_id))
        entries.append(
            {
                "rank": s.rank,
                "score": s.score,
                "memberId": s.member_id,
                "member": {
                    "id": face.id,
                    "displayName": face.display_name,
                    "tierCode": face.tier_code,
                },
            }
        )
    return {
        "key": board.key,
        "period": period.value,
        "periodKey": w.key,
        "participants": part.participants,
        "entries": entries,
    }


def view_of(snap: dict[str, Any], first: int, member_id: int | None) -> reading.BoardView:
    """One socket's view of a shared snapshot: its `first` entries, `me` read lazily."""
    entries = snap["entries"][:first]
    view = reading.BoardView(
        key=snap["key"],
        period=Period(snap["period"]),
        period_key=snap["periodKey"],
        participants=snap["participants"],
        entries=[store.Standing(e["rank"], e["score"], e["memberId"]) for e in entries],
        member_id=member_id,
        me_loaded=False,
    )
    view.publics = {
        e["rank"]: PublicView(
            e["member"]["id"], e["member"]["displayName"], e["member"]["tierCode"]
        )
        for e in entries
    }
    return view


class Live:
    """This process's watchers of boards, and the one task that hears dirty boards."""

    def __init__(self) -> None:
        self.watchers: dict[Name, set[asyncio.Queue[dict[str, Any]]]] = {}
        self.need: dict[Name, float] = {}  # loop time before which the next read is useless
        self.builders: dict[Name, asyncio.Task[None]] = {}
        self.listener: asyncio.Task[None] | None = None

    async def updates(
        self, board_key: str, period: Period, first: int
    ) -> AsyncIterator[dict[str, Any]]:
        """The board now, then each new snapshot: NOT_FOUND / INVALID_INPUT before any."""
        reading.check_first(first)
        board = await definitions.get_board(board_key)
        name = (board.key, period)
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=_QUEUE)
        self.watchers.setdefault(name, set()).add(queue)
        self._ensure_listener()
        try:
            yield await snapshot(board.key, period)
            # Changes just before we watched may have had their dirty message already.
            self.dirty(name)
            while True:
                yield await queue.get()
        finally:
            watching = self.watchers.get(name)
            if watching is not None:
                watching.discard(queue)
                if not watching:
                    del self.watchers[name]
            if not self.watchers and self.listener is not None:
                self.listener.cancel()
                self.listener = None

    def _ensure_listener(self) -> None:
        if self.listener is None or self.listener.done():
            self.listener = asyncio.create_task(self._listen(), name="leaderboards-dirty")

    async def _listen(self) -> None:
        while True:
            try:
                async with pubsub.hub.listen(store.DIRTY_CHANNEL) as queue:
                    while True:
                        self._heard(await queue.get())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("leaderboard dirty listener failed; retrying", exc_info=True)
                await asyncio.sleep(1.0)

    def _heard(self, message: str) -> None:
        board_key, _, period_name = message.partition("|")
        with contextlib.suppress(ValueError):
            self.dirty((board_key, Period(period_name)))

    def dirty(self, name: Name) -> None:
        """Schedule a read of `name` late enough to include what this dirty stands for."""
        if name not in self.watchers:
            return
        loop = asyncio.get_running_loop()
        self.need[name] = max(self.need.get(name, 0.0), loop.time() + BUILD_DELAY)
        if name not in self.builders:
            self.builders[name] = asyncio.create_task(self._build(name))

    async def _build(self, name: Name) -> None:
        loop = asyncio.get_running_loop()
        try:
            while name in self.watchers:
                wait = self.need[name] - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                started = loop.time()
                snap = await snapshot(*name)
                for queue in list(self.watchers.get(name, ())):
                    if queue.full():
                        queue.get_nowait()
                    queue.put_nowait(snap)
                if self.need[name] <= started:
                    break  # nothing heard since that needs a later read
        except Exception:
            log.warning("leaderboard snapshot of %s failed", name, exc_info=True)
        finally:
            self.builders.pop(name, None)
            if name not in self.watchers:
                self.need.pop(name, None)


live = Live()


async def stop() -> None:
    tasks = [t for t in (live.listener, *live.builders.values()) if t is not None]
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    live.listener = None
