"""Reconciliation: compare every board's current windows with the database, repair drift.

The database is the source of truth (the same sources as the rebuild, sources.py). Redis can
drift from it: a relay lost to a crash before the outbox existed, a hand-made ZADD, a
rebuild that raced a write. Each round:

1. For every board and current window, reads what the database says (one GROUP BY) and what
   Redis holds (ZSCAN and HSCAN, which never block Redis), and lists the members whose
   standing differs: a wrong score or reached time, missing, extra, or under a stale tie.
   Sorted-set members and hash fields that are no member's at all are removed at once.
2. Skips members with outbox rows not yet applied: their writes are on the way and the
   relay (or its sweep) brings Redis up to date.
3. Re-checks every other suspect under their member_state lock, in a unit of work: no write
   about them can commit meanwhile, and with no outbox row pending every committed write has
   reached Redis, so what the database says then is what Redis must hold. Only a drift that
   is still there is repaired, by setting the member's standing to the database's exact
   value (an idempotent script). A live write is therefore never undone or counted twice.

The report counts repaired members per board and window, and what was skipped or left for
the next round (at most MAX_RECHECKS members are re-checked per round).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from core import clock, outbox, turns
from core.errors import NotFound
from core.events import unit_of_work
from game.leaderboards import definitions, scoring, sources, store
from game.leaderboards.definitions import Board
from game.leaderboards.windows import BoardWindow, windows_at
from rewards import member_state

log = logging.getLogger(__name__)

MAX_RECHECKS = 5000
MAX_MEMBER_ID = 2**31 - 1  # member ids are 32-bit signed in the database
LOCK_MS = 15 * 60 * 1000

Place = tuple[str, str]  # (board key, window key)
Expected = tuple[int, int] | None  # (score, reached ms), None: not on the board


@dataclass
class ReconcileReport:
    # (board key, window key) -> members (or stray entries) repaired there
    repaired: dict[Place, int] = field(default_factory=dict)
    windows: int = 0
    checked: int = 0  # standings compared
    rechecked: int = 0  # suspects re-checked under their lock
    skipped: int = 0  # suspects with writes still in the outbox
    deferred: int = 0  # suspects left for the next round
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.repaired.values())

    def __bool__(self) -> bool:
        """Whether the round did anything worth a line in the jobs' log."""
        return bool(self.repaired or self.deferred)

    def __str__(self) -> str:
        text = (
            f"checked {self.checked} standing(s) in {self.windows} window(s) in "
            f"{self.seconds:.2f}s; "
        )
        if self.repaired:
            places = ", ".join(f"{b}/{w} {n}" for (b, w), n in sorted(self.repaired.items()))
            text += f"repaired {self.total} ({places})"
        else:
            text += "no drift"
        if self.skipped:
            text += f"; skipped {self.skipped} member(s) with writes in flight"
        if self.deferred:
            text += f"; {self.deferred} member(s) left for the next round"
        return text


def agrees(
    member_id: int, expected: Expected, head: str | None, ties: Sequence[tuple[str, int]]
) -> bool:
    """Whether Redis's view of a member (hash head, sorted-set entries) is `expected`."""
    if expected is None:
        return head is None and not ties
    score, reached = expected
    return head == scoring.time_part(reached) and set(ties) == {
        (scoring.tie(member_id, reached), score)
    }


class _Round:
    def __init__(self, boards: Sequence[Board], windows: Sequence[BoardWindow]) -> None:
        self.boards = {b.key: b for b in boards}
        self.windows = {w.key: w for w in windows}
        self.report = ReconcileReport(windows=len(boards) * len(windows))
        # member -> place -> the ties seen for them there (the re-check removes stale ones)
        self.suspects: dict[int, dict[Place, list[str]]] = defaultdict(dict)

    def repaired(self, place: Place, n: int = 1) -> None:
        if n:
            self.report.repaired[place] = self.report.repaired.get(place, 0) + n

    async def compare(self, board: Board, w: BoardWindow) -> None:
        """Step 1 for one window: note suspects, remove what is no member's."""
        place = (board.key, w.key)
        expected: dict[int, tuple[int, int]] = {}
        async for rows in turns.slices(await sources.totals(board, w)):
            expected.update({m: (score, reached) for m, score, reached in rows})
        # A member's first entry, and any more (a stale tie): a million lists would make
        # every full garbage collection of the process walk them, a pause each time.
        seen: dict[int, tuple[str, int]] = {}
        more: dict[int, list[tuple[str, int]]] = defaultdict(list)
        stray: list[str] = []
        async for batch in store.scan_window(board.key, w.key):
            for tie, raw in batch:
                try:
                    member_id, _ = scoring.unpack_tie(tie)
                    score = scoring.score_of(raw)
                except ValueError:
                    member_id = 0
                if 0 < member_id <= MAX_MEMBER_ID:
                    if member_id in seen:
                        more[member_id].append((tie, score))
                    else:
                        seen[member_id] = (tie, score)
                else:
                    stray.append(tie)  # no member's tie at all
        heads: dict[int, str] = {}
        bad_fields: list[str] = []
        found = await store.scan_heads(board.key, w.key)
        async for names in turns.slices(list(found)):
            for name in names:
                if name.isdigit() and 0 < int(name) <= MAX_MEMBER_ID:
                    heads[int(name)] = found[name]  # a wrong head makes them a suspect
                else:
                    bad_fields.append(name)
        await store.remove_ties(board.key, w.key, stray)
        await store.remove_fields(board.key, w.key, bad_fields)
        self.repaired(place, len(stray) + len(bad_fields))
        # Every member in any of the three, once (not a union of three million-member sets:
        # building one would hold the process for most of a second).
        for source in (expected, seen, heads):
            async for some in turns.slices(list(source)):
                for member_id in some:
                    if source is not expected and (
                        member_id in expected or (source is heads and member_id in seen)
                    ):
                        continue
                    self.report.checked += 1
                    first = seen.get(member_id)
                    ties = [first, *more.get(member_id, ())] if first else []
                    if not agrees(member_id, expected.get(member_id), heads.get(member_id), ties):
                        self.suspects[member_id][place] = sorted({t for t, _ in ties})

    async def recheck(self, member_id: int, places: dict[Place, list[str]]) -> bool:
        """Step 3 for one member; False if they had writes in flight after all."""
        try:
            async with unit_of_work():
                await member_state.lock(member_id)
                if await outbox.pending(member_id):
                    return False
                await self._repair(member_id, places)
        except NotFound:
            # Not a member (any more): nobody writes for them, so their entries are stray.
            await self._repair(member_id, places)
        return True

    async def _repair(self, member_id: int, places: dict[Place, list[str]]) -> None:
        for place, ties in places.items():
            board, w = self.boards[place[0]], self.windows[place[1]]
            rows = await sources.totals(board, w, [member_id])
            expected = (rows[0][1], rows[0][2]) if rows else None
            now = await store.standing(board.key, w.key, member_id, ties)
            if agrees(member_id, expected, now.head or None, now.ties):
                continue
            stale = [tie for tie, _ in now.ties]
            await store.set_standing(board.key, w, member_id, expected, stale)
            self.repaired(place)


async def reconcile(only: Sequence[Board] | None = None) -> ReconcileReport:
    """One round over `only` these boards (default: all) and their current windows."""
    started = time.perf_counter()
    zone = await store.refresh_zone()
    boards = list(only) if only is not None else await definitions.all_boards()
    windows = windows_at(clock.now(), zone)
    work = _Round(boards, windows)
    for board in boards:
        for w in windows:
            await work.compare(board, w)
    in_flight = await outbox.pending_members() if work.suspects else set()
    rechecked = 0
    for member_id in sorted(work.suspects):
        if member_id in in_flight:
            work.report.skipped += 1
        elif rechecked >= MAX_RECHECKS:
            work.report.deferred += 1
        else:
            rechecked += 1
            if await work.recheck(member_id, work.suspects[member_id]):
                work.report.rechecked += 1
            else:
                work.report.skipped += 1
    work.report.seconds = time.perf_counter() - started
    if work.report.repaired:
        await store.mark_dirty([work.boards[b] for b in {b for b, _ in work.report.repaired}])
    log.info("leaderboards reconciled: %s", work.report)
    return work.report
