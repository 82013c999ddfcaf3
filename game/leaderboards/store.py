"""Every Redis sorted-set command of the service lives here.

Keys: every one starts with the hash tag `{<prefix>:lb}` (core.redis.tagged), so all of them,
and the outbox markers of the "leaderboards" part, live in ONE Redis Cluster slot: the update
script, the read script and the rebuild's MULTI may touch any of them together.
    {p:lb}:z:{board}:{windowKey}       ZSET tie -> score (scoring.py)
    {p:lb}:h:{board}:{windowKey}       HASH member id -> inverted reached time (the tie's head)
    {p:lb}:defs                        HASH board key -> 'METRIC|actionType' (table mirror)
    {p:lb}:built                       set by the last rebuild; missing = Redis came back empty
    {p:lb}:pending:{board}:{P}         short-lived: a dirty message for (board, period P) is out
    {p:lb}:lock:{name}                 held while a process rebuilds or reconciles
    {p:lb}:tmp:{run}:{z|h}:{board}:{w} a rebuild's keys before they are swapped in
    {p:lb}:ob:{outbox row id}          the outbox part "leaderboards" applied that row
    channel {p}:ch:lbdirty             "board|PERIOD" when a board's current window changed

Writes: after a unit of work commits, the outbox relay adds ONE EVAL of UPDATE_LUA to its
pipeline for all the unit's events, boards and windows, guarded by the row's marker (SET NX
in the same script), so a relay that is retried never counts twice.
Reads go through a circuit breaker: when Redis fails, queries answer Unavailable at once
for a few seconds instead of each waiting on a dead connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core import clock, outbox, redis, sql
from game.leaderboards import scoring
from game.leaderboards.definitions import Board
from game.leaderboards.windows import BoardWindow, Period, window_of_day, windows_at
from members.program import get_program

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

TAG = "lb"


def root() -> str:
    """`{<prefix>:lb}`: the hash tag every leaderboard key starts with."""
    return redis.tag(TAG)


def zkey(board: str, window_key: str) -> str:
    return redis.tagged(TAG, "z", board, window_key)


def hkey(board: str, window_key: str) -> str:
    return redis.tagged(TAG, "h", board, window_key)


def meta(*parts: object) -> str:
    return redis.tagged(TAG, *parts)


def marker(row_id: int) -> str:
    """The key the update script sets once it applied outbox row `row_id`."""
    return redis.tagged(TAG, "ob", row_id)


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
    name = (await get_program()).timezone
    _zone = (name, time.monotonic())
    return name


# ----------------------------------------------------------------------------- writes

# KEYS[1] the defs mirror (read here, and what a cluster client routes by); KEYS[2], when
# given, the outbox row's marker: the script does nothing if it is already set.
# ARGV: root, dirty channel, pending ms, the current DAILY, WEEKLY, MONTHLY window keys, then
# per change 12 fields: kind (P points earned, T tier points, A action, V visibility),
# member, delta, delta2 (ACTION_VALUE), time (ms), action type, then three (window key, TTL
# seconds) pairs for DAILY, WEEKLY, MONTHLY ('' = do not touch that window).
UPDATE_LUA = """
if KEYS[2] and not redis.call('SET', KEYS[2], '1', 'NX', 'EX', MARKER_TTL) then return 0 end
local TMAX, IDMAX, SMAX = TIME_MAX, ID_MAX, SCORE_MAX
local root, chan, pending_ms = ARGV[1], ARGV[2], ARGV[3]
local current = {ALL_TIME = 'all', DAILY = ARGV[4], WEEKLY = ARGV[5], MONTHLY = ARGV[6]}
local PERIODS = {'DAILY', 'WEEKLY', 'MONTHLY'}
local boards, has_points = {}, false
local defs = redis.call('HGETALL', KEYS[1])
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
-- The member's tie is (inverted time)(inverted id); the hash keeps the time part.
local function bump(board, period, wkey, ttl, member, delta, t)
  local z = root .. ':z:' .. board .. ':' .. wkey
  local h = root .. ':h:' .. board .. ':' .. wkey
  local idpart = string.format('%08x', IDMAX - tonumber(member))
  local s = 0
  local old = redis.call('HGET', h, member)
  if old then
    local cur = redis.call('ZSCORE', z, old .. idpart)
    if cur then
      s = tonumber(cur)
      redis.call('ZREM', z, old .. idpart)
    end
    local t0 = TMAX - tonumber(old, 16)
    if t0 > t then t = t0 end
  end
  s = s + delta
  if s > SMAX then s = SMAX elseif s < -SMAX then s = -SMAX end
  local head = string.format('%011x', TMAX - t)
  redis.call('ZADD', z, string.format('%.0f', s), head .. idpart)
  redis.call('HSET', h, member, head)
  if ttl ~= '' then ttls[z] = ttl; ttls[h] = ttl end
  touch(board, period, wkey)
end

local i = 7
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
      if redis.call('HEXISTS', root .. ':h:' .. key .. ':all', member) == 1 then
        touched[key .. '|ALL_TIME'] = true
        for _, period in ipairs(PERIODS) do
          if redis.call('HEXISTS', root .. ':h:' .. key .. ':' .. current[period], member) == 1 then
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
  local pending = root .. ':pending:' .. string.sub(name, 1, sep - 1) .. ':'
    .. string.sub(name, sep + 1)
  if redis.call('SET', pending, '1', 'NX', 'PX', pending_ms) then
    redis.call('PUBLISH', chan, name)
  end
end
return 0
"""
for _name, _value in (
    ("MARKER_TTL", outbox.MARKER_TTL),
    ("TIME_MAX", scoring.TIME_MAX),
    ("ID_MAX", scoring.ID_MAX),
    ("SCORE_MAX", scoring.SCORE_MAX),
):
    UPDATE_LUA = UPDATE_LUA.replace(_name, str(_value))


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
        str(scoring.clamp(change.delta)),
        str(scoring.clamp(change.delta2)),
        str(scoring.millis(at)),
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
        root(),
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
    """Add one EVAL applying `changes` to a pipeline (a bulk load: no marker)."""
    if changes:
        pipe.eval(UPDATE_LUA, 1, meta("defs"), *update_args(changes))


def queue_args(pipe: redis.Scripts, row_id: int, args: list[str]) -> None:
    """Add one call of the update script with prepared ARGV (sent by SHA), applied once per
    outbox row (its marker)."""
    pipe.script(UPDATE_LUA, [meta("defs"), marker(row_id)], args)


async def apply(changes: Sequence[Change]) -> None:
    await redis.client().eval(UPDATE_LUA, 1, meta("defs"), *update_args(changes))


# ----------------------------------------------------------------------------- reads

# KEYS: the window's zset and hash. ARGV: first, member id ('' for none), radius (-1: none).
READ_LUA = """
local z, h = KEYS[1], KEYS[2]
local n = redis.call('ZCARD', z)
local first = tonumber(ARGV[1])
local top = {}
if first > 0 then top = redis.call('ZREVRANGE', z, 0, first - 1, 'WITHSCORES') end
local rank, score, around, lo = -1, '', {}, 0
if ARGV[2] ~= '' then
  local head = redis.call('HGET', h, ARGV[2])
  if head then
    local tie = head .. string.format('%08x', ID_MAX - tonumber(ARGV[2]))
    local r = redis.call('ZREVRANK', z, tie)
    if r then
      rank = r
      score = redis.call('ZSCORE', z, tie)
      local radius = tonumber(ARGV[3])
      if radius >= 0 then
        lo = r - radius
        if lo < 0 then lo = 0 end
        around = redis.call('ZREVRANGE', z, lo, r + radius, 'WITHSCORES')
      end
    end
  end
end
return {n, top, rank, score, around, lo}
""".replace("ID_MAX", str(scoring.ID_MAX))


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
        member_id, _ = scoring.unpack_tie(flat[i])
        out.append(Standing(first_rank + n, scoring.score_of(flat[i + 1]), member_id))
    return out


_read_script: Any = None


def _script() -> Any:
    global _read_script
    client = redis.client()
    if _read_script is None or _read_script.registered_client is not client:
        _read_script = client.register_script(READ_LUA)
    return _read_script


async def read(
    board: str, window_key: str, first: int, member_id: int | None, radius: int
) -> Slice:
    """Top `first`, the member's own standing and `radius` around it, in one round trip."""
    script = _script()
    n, top, rank, score, around, lo = await guarded(
        lambda: script(
            keys=[zkey(board, window_key), hkey(board, window_key)],
            args=[first, "" if member_id is None else str(member_id), radius],
        )
    )
    me = None
    if member_id is not None and int(rank) >= 0:
        me = Standing(int(rank) + 1, scoring.score_of(score), member_id)
    return Slice(
        participants=int(n),
        top=_standings(top, 1),
        me=me,
        around=_standings(around, int(lo) + 1),
    )


async def members_in(board: str, window_key: str) -> dict[int, tuple[int, int]]:
    """member id -> (score, reached ms) of a whole window (tests and checks)."""
    raw: list[Any] = await redis.client().zrange(zkey(board, window_key), 0, -1, withscores=True)
    out = {}
    for member, score in raw:
        member_id, reached = scoring.unpack_tie(member)
        out[member_id] = (scoring.score_of(score), reached)
    return out


async def scan_window(
    board: str, window_key: str, count: int = 2000
) -> AsyncIterator[list[tuple[str, float]]]:
    """The window's sorted-set entries (tie, score) in batches, without blocking Redis: ZSCAN
    returns every entry present for the whole scan at least once (a changed one maybe twice,
    or under its old tie too)."""
    client = redis.client()
    key = zkey(board, window_key)
    cursor = 0
    while True:
        cursor, found = await client.zscan(key, cursor, count=count)
        if found:
            yield [(str(tie), float(score)) for tie, score in found]
        if not cursor:
            return


async def scan_heads(
    board: str, window_key: str, count: int = 2000
) -> AsyncIterator[dict[str, str]]:
    """The window's hash, member id -> head of their tie, in batches (HSCAN: never blocks
    Redis; a field changed meanwhile may come twice)."""
    client = redis.client()
    key = hkey(board, window_key)
    cursor = 0
    while True:
        cursor, found = await client.hscan(key, cursor, count=count)
        assert isinstance(found, dict)  # HSCAN without NOVALUES
        if found:
            yield {str(k): str(v) for k, v in found.items()}
        if not cursor:
            return


async def sizes(board: str, window_key: str) -> tuple[int, int]:
    """(sorted-set entries, hash fields) of a window, in one round trip."""
    pipe = redis.client().pipeline(transaction=False)
    pipe.zcard(zkey(board, window_key))
    pipe.hlen(hkey(board, window_key))
    entries, fields = await pipe.execute()
    return int(entries), int(fields)


async def heads_of(board: str, window_key: str, member_ids: Sequence[int]) -> list[str | None]:
    """The hash's head of each member (None: no field)."""
    if not member_ids:
        return []
    found = await redis.client().hmget(hkey(board, window_key), [str(m) for m in member_ids])
    return [None if h is None else str(h) for h in found]


async def views(
    board: str, window_key: str, members: Sequence[tuple[int, str]]
) -> list[tuple[str | None, float | None]]:
    """For each (member id, tie): the hash's head of the member (None: no field) and the
    score of that tie (None: not in the sorted set). One round trip: HMGET and ZMSCORE
    (keys of one slot: one cluster node)."""
    if not members:
        return []
    pipe = redis.client().pipeline(transaction=False)
    pipe.hmget(hkey(board, window_key), [str(m) for m, _ in members])
    pipe.zmscore(zkey(board, window_key), [tie for _, tie in members])
    heads, scores = await pipe.execute()
    return [
        (None if h is None else str(h), None if v is None else float(v))
        for h, v in zip(heads, scores, strict=True)
    ]


# KEYS: zset, hash. ARGV: member id, then the ties seen for them elsewhere (maybe stale).
# Returns the member's entries: {tie, score, ...} for the hash's tie and every tie given
# that is still in the zset; and the hash's head ('' when none).
STANDING_LUA = """
local z, h, member = KEYS[1], KEYS[2], ARGV[1]
local out, seen = {}, {}
local head = redis.call('HGET', h, member) or ''
local ties = {}
if head ~= '' then ties[1] = head .. string.format('%08x', ID_MAX - tonumber(member)) end
for i = 2, #ARGV do ties[#ties + 1] = ARGV[i] end
for _, tie in ipairs(ties) do
  if not seen[tie] then
    seen[tie] = true
    local score = redis.call('ZSCORE', z, tie)
    if score then out[#out + 1] = tie; out[#out + 1] = score end
  end
end
return {head, out}
""".replace("ID_MAX", str(scoring.ID_MAX))


# KEYS: zset, hash. ARGV: member id, score ('' = not on the board), reached ms, TTL seconds
# ('' = none), then ties to remove. Sets the member's standing to exactly that: idempotent.
SET_LUA = """
local z, h, member = KEYS[1], KEYS[2], ARGV[1]
local idpart = string.format('%08x', ID_MAX - tonumber(member))
local head = redis.call('HGET', h, member)
if head then redis.call('ZREM', z, head .. idpart) end
for i = 5, #ARGV do redis.call('ZREM', z, ARGV[i]) end
if ARGV[2] == '' then
  redis.call('HDEL', h, member)
else
  head = string.format('%011x', TIME_MAX - tonumber(ARGV[3]))
  redis.call('ZADD', z, ARGV[2], head .. idpart)
  redis.call('HSET', h, member, head)
  if ARGV[4] ~= '' then
    redis.call('EXPIRE', z, ARGV[4])
    redis.call('EXPIRE', h, ARGV[4])
  end
end
return 0
""".replace("ID_MAX", str(scoring.ID_MAX)).replace("TIME_MAX", str(scoring.TIME_MAX))


@dataclass(frozen=True)
class Entry:
    """What Redis holds for one member in one window."""

    head: str  # the hash's tie head ('' when the hash has none)
    ties: tuple[tuple[str, int], ...]  # (tie, score) of every zset entry found for them


async def standing(board: str, window_key: str, member_id: int, ties: Iterable[str]) -> Entry:
    head, flat = await redis.client().eval(
        STANDING_LUA, 2, zkey(board, window_key), hkey(board, window_key), member_id, *ties
    )
    pairs = tuple((flat[i], scoring.score_of(flat[i + 1])) for i in range(0, len(flat), 2))
    return Entry(head, pairs)


async def set_standing(
    board: str,
    w: BoardWindow,
    member_id: int,
    value: tuple[int, int] | None,
    stale: Iterable[str] = (),
) -> None:
    """Make the member's standing in window `w` exactly `value` (score, reached ms), or
    take them off it (None); `stale` ties are removed too."""
    ttl = w.ttl(clock.now())
    score, reached = value if value is not None else (None, 0)
    await redis.client().eval(
        SET_LUA,
        2,
        zkey(board, w.key),
        hkey(board, w.key),
        member_id,
        "" if score is None else str(score),
        str(reached),
        "" if ttl is None else str(max(ttl, 1)),
        *stale,
    )


async def remove_ties(board: str, window_key: str, ties: Sequence[str]) -> None:
    """Remove sorted-set members that are no leaderboard tie at all (written by hand)."""
    if ties:
        await redis.client().zrem(zkey(board, window_key), *ties)


async def remove_fields(board: str, window_key: str, fields: Sequence[str]) -> None:
    if fields:
        await redis.client().hdel(hkey(board, window_key), *fields)


# ----------------------------------------------------------------------------- rebuild


def temp_key(run: str, kind: str, board: str, window_key: str) -> str:
    return redis.tagged(TAG, "tmp", run, kind, board, window_key)


async def load_temp(
    run: str, board: str, window_key: str, rows: Iterable[tuple[int, int, int]], chunk: int = 5000
) -> int:
    """Write (member, score, reached ms) rows into a rebuild's temporary keys; how many."""
    client = redis.client()
    zset, heads = temp_key(run, "z", board, window_key), temp_key(run, "h", board, window_key)
    count = 0
    ties: dict[str, int] = {}
    fields: dict[str, str] = {}
    pipe = client.pipeline(transaction=False)
    for member_id, score, reached in rows:
        ties[scoring.tie(member_id, reached)] = scoring.clamp(score)
        fields[str(member_id)] = scoring.time_part(reached)
        count += 1
        if len(ties) >= chunk:
            pipe.zadd(zset, ties)  # type: ignore[arg-type]
            pipe.hset(heads, mapping=fields)  # type: ignore[arg-type]
            ties, fields = {}, {}
            await pipe.execute()  # a chunk at a time: requests get turns between them
    if ties:
        pipe.zadd(zset, ties)  # type: ignore[arg-type]
        pipe.hset(heads, mapping=fields)  # type: ignore[arg-type]
    if len(pipe):
        await pipe.execute()
    return count


# KEYS: per (board, window) its zset, hash, temporary zset and hash; then the defs mirror and
# the built mark. ARGV: per (board, window) '1' if the rebuild filled it and its TTL ('' for
# none); then the defs as field, value pairs; then the built mark's value. One script: atomic,
# and on a cluster one slot (every key shares the tag) where MULTI's RENAME is not allowed.
SWAP_LUA = """
local pairs_n = (#KEYS - 2) / 4
for i = 0, pairs_n - 1 do
  local z, h, tz, th = KEYS[4 * i + 1], KEYS[4 * i + 2], KEYS[4 * i + 3], KEYS[4 * i + 4]
  redis.call('UNLINK', z, h)
  if ARGV[2 * i + 1] == '1' then
    redis.call('RENAME', tz, z)
    redis.call('RENAME', th, h)
    if ARGV[2 * i + 2] ~= '' then
      redis.call('EXPIRE', z, ARGV[2 * i + 2])
      redis.call('EXPIRE', h, ARGV[2 * i + 2])
    end
  end
end
local defs, built = KEYS[#KEYS - 1], KEYS[#KEYS]
redis.call('DEL', defs)
for i = 2 * pairs_n + 1, #ARGV - 1, 2 do redis.call('HSET', defs, ARGV[i], ARGV[i + 1]) end
redis.call('SET', built, ARGV[#ARGV])
return 0
"""


async def swap_in(
    run: str,
    boards: Sequence[Board],
    windows: Sequence[BoardWindow],
    filled: set[tuple[str, str]],
    every: Sequence[Board],
) -> None:
    """Atomically replace each (board, window) with the rebuild's keys; mirror all defs."""
    now = clock.now()
    keys: list[str] = []
    args: list[str] = []
    for board in boards:
        for w in windows:
            keys += [zkey(board.key, w.key), hkey(board.key, w.key)]
            keys += [temp_key(run, kind, board.key, w.key) for kind in ("z", "h")]
            ttl = w.ttl(now)
            args += [
                "1" if (board.key, w.key) in filled else "",
                "" if ttl is None else str(max(ttl, 1)),
            ]
    keys += [meta("defs"), meta("built")]
    for b in every:
        args += [b.key, b.spec]
    args.append(now.isoformat())
    # UNLINK frees a replaced board off the main thread: a big DEL would stall Redis.
    await redis.client().eval(SWAP_LUA, len(keys), *keys, *args)


async def drop_temp(run: str) -> None:
    client = redis.client()
    pattern = redis.tagged(TAG, "tmp", run, "*")
    keys = [k async for k in client.scan_iter(match=pattern, count=1000)]
    if keys:
        await client.unlink(*keys)


async def mirror_definition(board: Board) -> None:
    await redis.client().hset(meta("defs"), board.key, board.spec)


async def drop_legacy() -> int:
    """Delete the keys of the layout before hash tags (`<prefix>:lbz:*`, `<prefix>:lbmeta:*`,
    `<prefix>:ob:lb:*`), which nothing reads any more; how many."""
    client = redis.client()
    found = 0
    for pattern in (redis.key("lbz", "*"), redis.key("lbmeta", "*"), redis.key("ob", "lb", "*")):
        keys = [k async for k in client.scan_iter(match=pattern, count=1000)]
        for key in keys:  # one by one: on a cluster they hash to many slots
            await client.unlink(key)
        found += len(keys)
    return found


async def is_built() -> bool:
    return bool(await redis.client().exists(meta("built")))


async def mark_dirty(boards: Sequence[Board]) -> None:
    """Tell every process that these boards changed wholesale (after a rebuild)."""
    names = [f"{board.key}|{period.value}" for board in boards for period in Period]
    # A script, so a cluster client sends it like any other (its key only routes it).
    await redis.client().eval(
        "for i = 2, #ARGV do redis.call('PUBLISH', ARGV[1], ARGV[i]) end return 0",
        1,
        meta("defs"),
        redis.key("ch", DIRTY_CHANNEL),
        *names,
    )


async def try_lock(name: str, ms: int) -> bool:
    return bool(await redis.client().set(meta("lock", name), "1", nx=True, px=ms))


async def keep_lock(name: str, ms: int) -> None:
    """Push the expiry of a held lock `ms` from now (a long task, at steps of its work)."""
    await redis.client().pexpire(meta("lock", name), ms)


async def unlock(name: str) -> None:
    await redis.client().delete(meta("lock", name))


async def due(name: str, seconds: int) -> bool:
    """True at most once per `seconds` across processes (a key that expires)."""
    return bool(await redis.client().set(meta("due", name), "1", nx=True, ex=seconds))
