"""Reconciliation: compare every board's current windows with the database, repair drift.

The database is the source of truth (the same sources as the rebuild, sources.py). Redis can
drift from it: a relay lost to a crash before the outbox existed, a hand-made ZADD, a
rebuild that raced a write. Each round:

1. For every board and current window, compares a chunk of members at a time, by member id:
   the database's standings of the next `chunk` members (sources.page: one GROUP BY of the
   members after the last chunk's end, by member id, LIMIT `chunk`: an indexed read that
   stops there) and Redis' view of exactly those members (HMGET of their heads, ZMSCORE of
   their ties: one round trip). A member whose head or score differs, or who is missing, is
   a suspect.
   Then what Redis holds besides: every standing found there accounts for one hash field
   and one sorted-set entry, so when HLEN and ZCARD equal the numbers found, there is
   nothing else. When they differ (an entry that is no member's, a member the database does
   not have in the window, a stale tie, or just a member who joined the window during the
   round), that key is scanned (ZSCAN or HSCAN, which never block Redis) batch by batch,
   each batch compared with the database's standings of its members and then let go:
   entries and fields that are no member's at all are removed at once, any other
   difference makes a suspect. Nothing the round holds grows with the board: a chunk, a
   batch, and the suspects (few).
2. Skips members with outbox rows not yet applied: their writes are on the way and the
   relay (or its sweep) brings Redis up to date.
3. Re-checks every other suspect under their member_state lock, in a unit of work: no write
   about them can commit meanwhile, and with no outbox row pending every committed write has
   reached Redis, so what the database says then is what Redis must hold. Only a drift that
   is still there is repaired, by setting the member's standing to the database's exact
   value (an idempotent script). A live write is therefore never undone or counted twice.

The event loop gets a turn after every chunk, scanned batch and RECHECK_STEP re-checks. With
a `pace` (a serving process: SERVING_PACE) the round also sleeps `pace` times as long as
each step took (at most MAX_PAUSE): it takes about a quarter of the process's time at most
(a step's wall time counts any await, so it is more than the round's own CPU) and runs
longer in wall time instead. The caller's lock (LOCK_MS) is renewed every RENEW_SECONDS of
a round, so two rounds never overlap however long one runs, and the lock of a process that
died mid-round frees itself soon.

The report counts repaired members per board and window, and what was skipped or left for
the next round (at most MAX_RECHECKS members are re-checked per round).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from core import clock, outbox
from core.errors import NotFound
from core.events import unit_of_work
from game.leaderboards import definitions, scoring, sources, store
from game.leaderboards.definitions import Board
from game.leaderboards.windows import BoardWindow, windows_at
from rewards import member_state

log = logging.getLogger(__name__)

MAX_RECHECKS = 5000
MAX_MEMBER_ID = sources.MAX_MEMBER_ID
CHUNK = 5000  # members compared at a time
# A serving process compares fewer at a time: a step holds its event loop, and one of 5,000
# took about 45 ms at a million standings (bench/reconcile.py); one of 1,000 about a fifth.
SERVING_CHUNK = 1000
SCAN_BATCH = 2000  # entries asked per ZSCAN / HSCAN call when a key must be scanned
RECHECK_STEP = 100  # re-checks between two turns of the event loop
SERVING_PACE = 3.0  # a serving process: 3 s of pause per second of work, a quarter of one core
MAX_PAUSE = 0.5  # seconds, the longest pause after one step
# The job's lock (server/leaderboard_jobs.py), renewed every RENEW_SECONDS of a round: it
# outlasts any one step, and frees itself soon when its process dies mid-round.
LOCK_MS = 5 * 60 * 1000
RENEW_SECONDS = 60.0

Place = tuple[str, str]  # (board key, window key)
Expected = tuple[int, int] | None  # (score, reached ms), None: not on the board


@dataclass
class ReconcileReport:
    # (board key, window key) -> members (or stray entries) repaired there
    repaired: dict[Place, int] = field(default_factory=dict)
    windows: int = 0
    checked: int = 0  # the database's standings compared with Redis
    scans: int = 0  # sorted sets and hashes scanned: their counts differed
    rechecked: int = 0  # suspects re-checked under their lock
    skipped: int = 0  # suspects with writes still in the outbox
    deferred: int = 0  # suspects left for the next round
    seconds: float = 0.0
    paused: float = 0.0  # of the seconds, spent sleeping (a paced round)

    @property
    def total(self) -> int:
        return sum(self.repaired.values())

    def __bool__(self) -> bool:
        """Whether the round did anything worth a line in the jobs' log."""
        return bool(self.repaired or self.deferred)

    def __str__(self) -> str:
        text = f"checked {self.checked} standing(s) in {self.windows} window(s)"
        if self.scans:
            text += f" ({self.scans} key(s) scanned: their counts differed)"
        text += f" in {self.seconds:.2f}s"
        if self.paused:
            text += f" ({self.paused:.2f}s of it paused)"
        text += "; "
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


class _Pacer:
    """Between two steps of a round: a turn of the event loop, a pause of `pace` times the
    step's wall time (at most MAX_PAUSE), and the caller's lock renewed now and then."""

    def __init__(self, pace: float, lock: str | None, report: ReconcileReport) -> None:
        self.pace = pace
        self.lock = lock
        self.report = report
        self.since = self.renewed = time.perf_counter()

    async def step(self) -> None:
        now = time.perf_counter()
        if self.lock is not None and now - self.renewed >= RENEW_SECONDS:
            await store.keep_lock(self.lock, LOCK_MS)
            self.renewed = now
        pause = min(self.pace * (now - self.since), MAX_PAUSE)
        await asyncio.sleep(pause)
        self.report.paused += pause
        self.since = time.perf_counter()


def _field_id(name: str) -> int:
    """The member id a hash field names, 0 if it names none (as the scripts write ids)."""
    if name.isascii() and name.isdigit() and str(int(name)) == name:
        member_id = int(name)
        return member_id if 0 < member_id <= MAX_MEMBER_ID else 0
    return 0


class _Round:
    def __init__(
        self,
        boards: Sequence[Board],
        windows: Sequence[BoardWindow],
        chunk: int = CHUNK,
        pace: float = 0.0,
        lock: str | None = None,
    ) -> None:
        self.chunk = chunk
        self.boards = {b.key: b for b in boards}
        self.windows = {w.key: w for w in windows}
        self.report = ReconcileReport(windows=len(boards) * len(windows))
        self.pacer = _Pacer(pace, lock, self.report)
        # member -> place -> the ties seen for them there (the re-check removes stale ones)
        self.suspects: dict[int, dict[Place, set[str]]] = defaultdict(dict)

    def repaired(self, place: Place, n: int = 1) -> None:
        if n:
            self.report.repaired[place] = self.report.repaired.get(place, 0) + n

    def suspect(self, member_id: int, place: Place, ties: Iterable[str] = ()) -> None:
        self.suspects[member_id].setdefault(place, set()).update(ties)

    async def compare(self, board: Board, w: BoardWindow) -> None:
        """Step 1 for one window: note suspects, remove what is no member's."""
        place = (board.key, w.key)
        heads = ties = 0  # the standings' hash fields and sorted-set entries found in Redis
        after = 0
        while after < MAX_MEMBER_ID:
            rows, after = await sources.page(board, w, after, self.chunk)
            wanted = [(m, scoring.tie(m, reached)) for m, _, reached in rows]
            seen = await store.views(board.key, w.key, wanted)
            for (member_id, score, reached), (_, tie), (head, now) in zip(
                rows, wanted, seen, strict=True
            ):
                heads += head is not None
                ties += now is not None
                if head != scoring.time_part(reached) or now != score:
                    self.suspect(member_id, place, () if now is None else (tie,))
            self.report.checked += len(rows)
            await self.pacer.step()
        entries, fields = await store.sizes(board.key, w.key)
        if entries != ties:
            await self.scan_ties(board, w)
        if fields != heads:
            await self.scan_heads(board, w)

    @staticmethod
    async def expected(board: Board, w: BoardWindow, ids: set[int]) -> dict[int, tuple[int, int]]:
        """The database's (score, reached ms) of these members, those on the board."""
        rows = await sources.totals(board, w, sorted(ids)) if ids else []
        return {member_id: (score, reached) for member_id, score, reached in rows}

    async def scan_ties(self, board: Board, w: BoardWindow) -> None:
        """The sorted set, batch by batch: every entry that is not a standing's tie."""
        place = (board.key, w.key)
        self.report.scans += 1
        async for batch in store.scan_window(board.key, w.key, SCAN_BATCH):
            stray: list[str] = []  # no member's tie at all
            found: list[tuple[int, str, float]] = []
            for tie, raw in batch:
                try:
                    member_id, _ = scoring.unpack_tie(tie)
                    scoring.score_of(raw)  # raises on a score no standing has (inf, nan)
                except ValueError:
                    member_id = 0
                if 0 < member_id <= MAX_MEMBER_ID:
                    found.append((member_id, tie, raw))
                else:
                    stray.append(tie)
            await store.remove_ties(board.key, w.key, stray)
            self.repaired(place, len(stray))
            ids = sorted({member_id for member_id, _, _ in found})
            expected = await self.expected(board, w, set(ids))
            heads = dict(zip(ids, await store.heads_of(board.key, w.key, ids), strict=True))
            for member_id, tie, score in found:
                want = expected.get(member_id)
                if want is None or (tie, score, heads[member_id]) != (
                    scoring.tie(member_id, want[1]),
                    want[0],
                    scoring.time_part(want[1]),
                ):
                    self.suspect(member_id, place, (tie,))
            await self.pacer.step()

    async def scan_heads(self, board: Board, w: BoardWindow) -> None:
        """The hash, batch by batch: every field that is not a standing's head."""
        place = (board.key, w.key)
        self.report.scans += 1
        async for batch in store.scan_heads(board.key, w.key, SCAN_BATCH):
            named = {name: _field_id(name) for name in batch}
            bad = [name for name, member_id in named.items() if not member_id]
            await store.remove_fields(board.key, w.key, bad)
            self.repaired(place, len(bad))
            expected = await self.expected(board, w, {m for m in named.values() if m})
            for name, member_id in named.items():
                want = expected.get(member_id)
                if member_id and (want is None or batch[name] != scoring.time_part(want[1])):
                    self.suspect(member_id, place)
            await self.pacer.step()

    async def recheck(self, member_id: int, places: dict[Place, set[str]]) -> bool:
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

    async def _repair(self, member_id: int, places: dict[Place, set[str]]) -> None:
        for place, ties in places.items():
            board, w = self.boards[place[0]], self.windows[place[1]]
            rows = await sources.totals(board, w, [member_id])
            expected = (rows[0][1], rows[0][2]) if rows else None
            now = await store.standing(board.key, w.key, member_id, sorted(ties))
            if agrees(member_id, expected, now.head or None, now.ties):
                continue
            stale = [tie for tie, _ in now.ties]
            await store.set_standing(board.key, w, member_id, expected, stale)
            self.repaired(place)


async def reconcile(
    only: Sequence[Board] | None = None,
    *,
    chunk: int = CHUNK,
    pace: float = 0.0,
    lock: str | None = None,
) -> ReconcileReport:
    """One round over `only` these boards (default: all) and their current windows.

    `chunk`: members compared at a time. `pace`: seconds of pause per second of a step's
    work (0, the default for commands and tests: only turns of the event loop; a serving
    process passes SERVING_PACE). `lock`: the name of the store lock the caller holds for
    the round, renewed as it runs."""
    started = time.perf_counter()
    zone = await store.refresh_zone()
    boards = list(only) if only is not None else await definitions.all_boards()
    windows = windows_at(clock.now(), zone)
    work = _Round(boards, windows, chunk, pace, lock)
    for board in boards:
        for w in windows:
            await work.compare(board, w)
    in_flight = await outbox.pending_members() if work.suspects else set()
    rechecked = 0
    for n, member_id in enumerate(sorted(work.suspects), start=1):
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
        if n % RECHECK_STEP == 0:
            await work.pacer.step()
    work.report.seconds = time.perf_counter() - started
    if work.report.repaired:
        await store.mark_dirty([work.boards[b] for b in {b for b, _ in work.report.repaired}])
    log.info("leaderboards reconciled: %s", work.report)
    return work.report
