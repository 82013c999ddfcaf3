"""Every Redis sorted-set command of the service lives here.

Keys (all under core.redis.key, so a run's prefix namespaces them):
    lbz:{board}:{windowKey}        ZSET member id -> packed score (scoring.py)
    lbmeta:defs                    HASH board key -> 'METRIC|actionType' (mirror of the table)
    lbmeta:built                   set by the last rebuild; missing = Redis came back empty
    lbmeta:pending:{board}:{P}     short-lived: a dirty message for (board, period P) is out
    lbmeta:lock:rebuild            held while a process rebuilds because Redis came back empty
    lbtmp:{run}:{board}:{window}   a rebuild's sorted sets before they are swapped in
    channel ch:lbdirty             "board|PERIOD" when a board's current window changed

Writes: after a unit of work commits, `queue_update` (from updates.pipeline_step) adds ONE
EVAL of UPDATE_LUA to the after-commit pipeline for all its events, boards and windows.
Reads go through a circuit breaker: when Redis fails, queries answer Unavailable at once
for a few seconds instead of each waiting on a dead connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core import clock, redis, sql
from game.leaderboards import scoring
from game.leaderboards.definitions import Board
from game.leaderboards.windows import Period, Window, window_of_day, windows_at

log = logging.getLogger(__name__)

PENDING_MS = 250  # at most one dirty message per board and period per this many ms
READ_TIMEOUT = 1.0
BREAKER_SECONDS = 5.0
ZONE_TTL = 30.0
DEFAULT_ZONE = "Asia/Ho_Chi_Minh"
T = TypeVar("T")


class Unavailable(Exception):
    """Redis is unreachable: the boards cannot be read now (writes still commit)."""


# ----------------------------------------------------------------------------- keys


def zkey(board: str, window_key: str) -> str:
    return redis.key("lbz", board, window_key)


def meta(*parts: object) -> str:
    return redis.key("lbmeta", *parts)


DIRTY_CHANNEL = "lbdirty"


# ----------------------------------------------------------------------------- zone

_zone: tuple[str, float] | None = None
_refreshing: asyncio.Task[str] | None = None


def zone() -> str:
    """The program's zone as last loaded; refreshed in the background when stale.

    The after-commit step cannot await, so it uses this cache (loaded at startup, by
    reads and rebuilds once stale); a timezone change reaches every process within about
    ZONE_TTL, and a rebuild puts anything counted in the old zone's windows right.
    """
    global _refreshing
    stale = _zone is None or time.monotonic() - _zone[1] > ZONE_TTL
    if stale and (_refreshing is None or _refreshing.done()):
        with contextlib.suppress(RuntimeError):  # no running loop: keep the cached zone
            _refreshing = sql.spawn(refresh_zone(), name="leaderboards-zone")
    return _zone[0] if _zone else DEFAULT_ZONE


async def current_zone() -> str:
    """The program's zone, loaded now if never loaded or stale."""
    if _zone is None or time.monotonic() - _zone[1] > ZONE_TTL:
        return await refresh_zone()
    return _zone[0]


async def refresh_zone() -> str:
    global _zone
    from members.program import get_program

    name = (await get_program()).timezone
    _zone = (name, time.monotonic())
    return name


# ----------------------------------------------------------------------------- writes

# Per event 12 fields: kind (P points earned, T tier points, A action, V visibility),
# member, delta, delta2 (ACTION_VALUE), time, action type, then three (window key, TTL
# seconds) pairs for DAILY, WEEKLY, MONTHLY ('' = do not touch that window).
UPDATE_LUA = """
if KEYS[1] and not redis.call('SET', KEYS[1], '1', 'NX', 'EX', 604800) then return 0 end
local B = 2147483648
local SMAX, SMIN = 4194303, -4194304
local zroot, metaroot, chan = ARGV[1], ARGV[2], ARGV[3]
local pending_ms = ARGV[4]
local current = {ALL_TIME = 'all', DAILY = ARGV[5], WEEKLY = ARGV[6], MONTHLY = ARGV[7]}
local PERIODS = {'DAILY', 'WEEKLY', 'MONTHLY'}
local boards, has_points = {}, false
local defs = redis.call('HGETALL', metaroot .. ':defs')
for i = 1, #defs, 2 do
  local spec = defs[i + 1]
  local sep = string.find(spec, '|', 1, true)
  boards[#boards + 1] = {defs[i], string.sub(spec, 1, sep - 1), string.sub(spec, sep + 1)}
  if defs[i] == 'points' then has_points = true end
end
if not has_points then boards[#boards + 1] = {'points', 'POINTS_EARNED', ''} end

local touched, ttls = {}, {}
local function touch(board, period, wkey)
  if current[period] == wkey then touched[board .. '|' .. period] = true end
end
local function bump(board, period, wkey, ttl, member, delta, t)
  local k = zroot .. ':' .. board .. ':' .. wkey
  local cur = redis.call('ZSCORE', k, member)
  local s = 0
  if cur then
    local p = tonumber(cur)
    s = math.floor(p / B)
    local t0 = (B - 1) - (p - s * B)
    if t0 > t then t = t0 end
  end
  s = s + delta
  if s > SMAX then s = SMAX elseif s < SMIN then s = SMIN end
  redis.call('ZADD', k, string.format('%.0f', s * B + (B - 1 - t)), member)
  if ttl ~= '' then ttls[k] = ttl end
  touch(board, period, wkey)
end

local i = 8
while i + 11 <= #ARGV do
  local kind, member = ARGV[i], ARGV[i + 1]
  local delta, delta2, t = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4])
  local atype = ARGV[i + 5]
  for _, b in ipairs(boards) do
    local key, metric, batype = b[1], b[2], b[3]
    local d = nil
    if kind == 'P' and metric == 'POINTS_EARNED' then d = delta
    elseif kind == 'T' and metric == 'TIER_POINTS' then d = delta
    elseif kind == 'A' and batype == atype then
      if metric == 'ACTION_COUNT' then d = delta elseif metric == 'ACTION_VALUE' then d = delta2 end
    end
    if kind == 'V' then
      if redis.call('ZSCORE', zroot .. ':' .. key .. ':all', member) then
        touched[key .. '|ALL_TIME'] = true
        for _, period in ipairs(PERIODS) do
          if redis.call('ZSCORE', zroot .. ':' .. key .. ':' .. current[period], member) then
            touched[key .. '|' .. period] = true
          end
        end
      end
    elseif d ~= nil and d ~= 0 then
      bump(key, 'ALL_TIME', 'all', '', member, d, t)
      for w = 0, 2 do
        local wkey = ARGV[i + 6 + 2 * w]
        if wkey ~= '' then bump(key, PERIODS[w + 1], wkey, ARGV[i + 7 + 2 * w], member, d, t) end
      end
    end
  end
  i = i + 12
end
for k, ttl in pairs(ttls) do redis.call('EXPIRE', k, ttl) end
for name, _ in pairs(touched) do
  local sep = string.find(name, '|', 1, true)
  local pending = metaroot .. ':pending:' .. string.sub(name, 1, sep - 1) .. ':'
    .. string.sub(name, sep + 1)
  if redis.call('SET', pending, '1', 'NX', 'PX', pending_ms) then
    redis.call('PUBLISH', chan, name)
  end
end
return 0
"""


@dataclass(frozen=True)
class Change:
    """One score change to apply to every matching board and window."""

    kind: str  # 'P' points earned, 'T' tier points, 'A' action, 'V' visibility changed
    member_id: int
    delta: int = 0
    delta2: int = 0
    at: datetime | None = None  # when it happened: picks the windows and the time reached
    action_type: str = ""


def _change_args(change: Change, zone_name: str, now: datetime) -> list[str]:
    at = change.at or now
    args = [
        change.kind,
        str(change.member_id),
        str(change.delta),
        str(change.delta2),
        str(scoring.seconds(at)),
        change.action_type,
    ]
    day = clock.local(at, zone_name).date()
    for period in (Period.DAILY, Period.WEEKLY, Period.MONTHLY):
        w = window_of_day(period, day, zone_name)
        ttl = w.ttl(now)
        if ttl is None or ttl <= 0:
            args += ["", ""]  # the window has gone; nothing reads it any more
        else:
            args += [w.key, str(ttl)]
    return args


def update_args(changes: Sequence[Change], zone_name: str | None = None) -> list[str]:
    """ARGV of one UPDATE_LUA call applying `changes` in order."""
    zone_name = zone_name or zone()
    now = clock.now()
    current = {w.period: w.key for w in windows_at(now, zone_name)}
    args = [
        redis.key("lbz"),
        redis.key("lbmeta"),
        redis.key("ch", DIRTY_CHANNEL),
        str(PENDING_MS),
        current[Period.DAILY],
        current[Period.WEEKLY],
        current[Period.MONTHLY],
    ]
    for change in changes:
        args += _change_args(change, zone_name, now)
    return args


def queue_update(pipe: Any, changes: Sequence[Change]) -> None:
    """Add one EVAL applying `changes` to a pipeline (a bulk load)."""
    if changes:
        pipe.eval(UPDATE_LUA, 0, *update_args(changes))


def queue_args(pipe: redis.Scripts, marker: str, args: list[str]) -> None:
    """Add one call of the update script with prepared ARGV, applied once per marker (the
    outbox relay)."""
    pipe.script(UPDATE_LUA, [marker], args)


async def apply(changes: Sequence[Change]) -> None:
    await redis.client().eval(UPDATE_LUA, 0, *update_args(changes))


# ----------------------------------------------------------------------------- reads

READ_LUA = """
local k = KEYS[1]
local n = redis.call('ZCARD', k)
local first = tonumber(ARGV[1])
local top = {}
if first > 0 then top = redis.call('ZREVRANGE', k, 0, first - 1, 'WITHSCORES') end
local rank, score, around, lo = -1, '', {}, 0
if ARGV[2] ~= '' then
  local r = redis.call('ZREVRANK', k, ARGV[2])
  if r then
    rank = r
    score = redis.call('ZSCORE', k, ARGV[2])
    local radius = tonumber(ARGV[3])
    if radius >= 0 then
      lo = r - radius
      if lo < 0 then lo = 0 end
      around = redis.call('ZREVRANGE', k, lo, r + radius, 'WITHSCORES')
    end
  end
end
return {n, top, rank, score, around, lo}
"""


@dataclass(frozen=True)
class Standing:
    rank: int  # 1-based
    score: int
    member_id: int


@dataclass
class Slice:
    participants: int
    top: list[Standing]
    me: Standing | None
    around: list[Standing]


_open_until = 0.0


REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, TimeoutError, OSError)


async def guarded(call: Callable[[], Awaitable[T]]) -> T:
    """Run a read; on failure open the breaker so the next reads fail at once."""
    global _open_until
    if time.monotonic() < _open_until:
        raise Unavailable("leaderboards are unavailable: Redis is unreachable")
    try:
        async with asyncio.timeout(READ_TIMEOUT):
            return await call()
    except REDIS_DOWN as exc:
        _open_until = time.monotonic() + BREAKER_SECONDS
        log.warning("leaderboard read failed; answering Unavailable for %ss", BREAKER_SECONDS)
        raise Unavailable("leaderboards are unavailable: Redis is unreachable") from exc


def reset_breaker() -> None:
    global _open_until
    _open_until = 0.0


def _standings(flat: Sequence[Any], first_rank: int) -> list[Standing]:
    out = []
    for n, i in enumerate(range(0, len(flat), 2)):
        score, _ = scoring.unpack(flat[i + 1])
        out.append(Standing(first_rank + n, score, int(flat[i])))
    return out


_read_script: Any = None


async def read(
    board: str, window_key: str, first: int, member_id: int | None, radius: int
) -> Slice:
    """Top `first`, the member's own standing and `radius` around it, in one round trip."""
    global _read_script
    client = redis.client()
    if _read_script is None or _read_script.registered_client is not client:
        _read_script = client.register_script(READ_LUA)
    script = _read_script
    n, top, rank, score, around, lo = await guarded(
        lambda: script(
            keys=[zkey(board, window_key)],
            args=[first, "" if member_id is None else str(member_id), radius],
        )
    )
    me = None
    if member_id is not None and int(rank) >= 0:
        me = Standing(int(rank) + 1, scoring.unpack(score)[0], member_id)
    return Slice(
        participants=int(n),
        top=_standings(top, 1),
        me=me,
        around=_standings(around, int(lo) + 1),
    )


async def members_in(board: str, window_key: str) -> dict[int, tuple[int, int]]:
    """member id -> (score, seconds reached) of a whole window (tests and checks)."""
    raw: list[Any] = await redis.client().zrange(zkey(board, window_key), 0, -1, withscores=True)
    return {int(m): scoring.unpack(s) for m, s in raw}


# ----------------------------------------------------------------------------- rebuild


def temp_key(run: str, board: str, window_key: str) -> str:
    return redis.key("lbtmp", run, board, window_key)


async def load_temp(
    run: str, board: str, window_key: str, rows: Iterable[tuple[int, int, int]], chunk: int = 5000
) -> int:
    """ZADD (member, score, seconds) rows into a rebuild's temporary key; returns how many."""
    client = redis.client()
    key = temp_key(run, board, window_key)
    count = 0
    batch: dict[str, int] = {}
    pipe = client.pipeline(transaction=False)
    for member_id, score, seconds in rows:
        batch[str(member_id)] = scoring.pack(score, seconds)
        count += 1
        if len(batch) >= chunk:
            pipe.zadd(key, batch)  # type: ignore[arg-type]
            batch = {}
            if len(pipe) >= 20:
                await pipe.execute()
    if batch:
        pipe.zadd(key, batch)  # type: ignore[arg-type]
    if len(pipe):
        await pipe.execute()
    return count


async def swap_in(
    run: str,
    boards: Sequence[Board],
    windows: Sequence[Window],
    filled: set[tuple[str, str]],
    every: Sequence[Board],
) -> None:
    """Atomically replace each (board, window) with the rebuild's keys; mirror all defs."""
    now = clock.now()
    pipe = redis.client().pipeline(transaction=True)
    for board in boards:
        for w in windows:
            live = zkey(board.key, w.key)
            # UNLINK frees a replaced board off the main thread: a big DEL would stall Redis.
            pipe.unlink(live)
            if (board.key, w.key) in filled:
                pipe.rename(temp_key(run, board.key, w.key), live)
                ttl = w.ttl(now)
                if ttl is not None:
                    pipe.expire(live, max(ttl, 1))
    pipe.delete(meta("defs"))
    pipe.hset(meta("defs"), mapping={b.key: b.spec for b in every})
    pipe.set(meta("built"), clock.now().isoformat())
    await pipe.execute()


async def drop_temp(run: str) -> None:
    client = redis.client()
    keys = [k async for k in client.scan_iter(match=redis.key("lbtmp", run, "*"), count=1000)]
    if keys:
        await client.unlink(*keys)


async def mirror_definition(board: Board) -> None:
    await redis.client().hset(meta("defs"), board.key, board.spec)


async def is_built() -> bool:
    return bool(await redis.client().exists(meta("built")))


async def mark_dirty(boards: Sequence[Board]) -> None:
    """Tell every process that these boards changed wholesale (after a rebuild)."""
    client = redis.client()
    pipe = client.pipeline(transaction=False)
    for board in boards:
        for period in Period:
            pipe.publish(redis.key("ch", DIRTY_CHANNEL), f"{board.key}|{period.value}")
    await pipe.execute()


async def try_lock(name: str, ms: int) -> bool:
    return bool(await redis.client().set(meta("lock", name), "1", nx=True, px=ms))
