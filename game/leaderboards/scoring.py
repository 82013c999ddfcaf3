"""How a standing is stored: the exact score as the Redis score, the tie-break in the member.

Order: a higher score first; at equal scores whoever reached it first (to the millisecond),
then the lower member id. A board window is two keys (store.py):

    ZSET  member = tie(member id, reached)   score = the score itself
    HASH  member id -> inverted reached time (11 hex digits)

    tie = %011x(TIME_MAX - reached ms) + %08x(ID_MAX - member id)      (19 characters)

Redis orders equal scores by member bytes, and ZREVRANGE / ZREVRANK read them in reverse,
so inverting both parts puts the earlier time, then the lower id, first. The hash rebuilds a
member's tie from its id: an update replaces the old tie in one Lua call, and `me` is still
one round trip (HGET, then ZREVRANK, in the read script).

Budget: the score is a plain double, exact for every integer of magnitude below 2**53
(SCORE_MAX; totals past it are held at the bound, far beyond the 2**31 a window must hold, so
an ACTION_VALUE board of VND order amounts never saturates). Time: milliseconds since EPOCH
in 11 hex digits (557 years; earlier times count as the epoch). Member ids are 32-bit.

Why not one packed double as before (score * 2**31 + inverted seconds)? 53 bits cannot hold
a 33-bit signed score and a 41-bit millisecond time: packing kept scores within
+-4,194,303 and ties to the second. A millisecond tie-break with a score up to 2**31 leaves
no room at all, hence the member string. Its cost, measured by bench/leaderboard_ties.py
on one window of 1,000,000 members (Redis 7.0 on the shared 2-core machine, load average
about 3; the same script run twice on the packed encoding just before this change, and
twice on this one, alternately):

                                              packed (before)   member string (now)
    memory per member                         102 bytes         190
    score changes/s (4 windows each, 100
      per Lua call, pipelined)                28,000 / 21,600   20,300 / 19,300
    read (top 10 + me + around me, one
      script call), one at a time: p50        0.21 ms           0.22 ms
    the same, 8 at once                       3,640 / 3,680/s   4,420 / 3,570/s

So reads cost the same (one HGET more inside the script), an update does a HGET, ZREM and
HSET more per window (10-30% fewer per second, still far above the few hundred writes per
second the write path sends on this machine), and memory nearly doubles: about 190 MB per
million members per window, of which the hash is about 64 bytes a member. A throwaway
measurement put a hash split into small listpack buckets (id // 128) at about 141 bytes a
member in all, at the price of thousands of keys per window to expire, rename on rebuild
and scan; one hash per window keeps the store simple, and only members who scored in a
window take room in it.

The Lua update script in store.py does the same arithmetic as `tie` / `unpack_tie`: it adds
the delta to the current score and keeps the later of the stored and the new time, so the
"reached" time is that of the latest change however events arrive; the rebuild (sources.py)
computes SUM and MAX(time) per member, the same values.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

TIME_DIGITS = 11
ID_DIGITS = 8
TIME_MAX = 16**TIME_DIGITS - 1
ID_MAX = 16**ID_DIGITS - 1
SCORE_MAX = 2**53 - 1
SCORE_MIN = -SCORE_MAX
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def millis(at: datetime) -> int:
    """The time part: whole milliseconds since EPOCH, held inside [0, TIME_MAX]."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    delta = at - EPOCH
    # Integer arithmetic: total_seconds() is a float and would round some microseconds up.
    value = (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    return min(max(value, 0), TIME_MAX)


def clamp(score: int) -> int:
    return min(max(score, SCORE_MIN), SCORE_MAX)


def time_part(reached: int) -> str:
    """What the hash keeps for a member: the inverted time, as in its tie."""
    return f"{TIME_MAX - reached:0{TIME_DIGITS}x}"


def tie(member_id: int, reached: int) -> str:
    """The sorted-set member of `member_id` who reached their score at `reached` ms."""
    return time_part(reached) + f"{ID_MAX - member_id:0{ID_DIGITS}x}"


def unpack_tie(member: str) -> tuple[int, int]:
    """(member id, reached ms) of a sorted-set member; ValueError if it is not one."""
    if len(member) != TIME_DIGITS + ID_DIGITS:
        raise ValueError(f"not a leaderboard member: {member!r}")
    inverted_time, inverted_id = int(member[:TIME_DIGITS], 16), int(member[TIME_DIGITS:], 16)
    return ID_MAX - inverted_id, TIME_MAX - inverted_time


def score_of(raw: float | int | str) -> int:
    """A Redis score as the whole number it is."""
    if isinstance(raw, int):
        return raw
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError(f"not a leaderboard score: {raw!r}")
    return int(value)


def whole_units(value: Decimal | float | int) -> int:
    """An action value as counted by ACTION_VALUE boards: rounded half up to a whole unit."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return int(number.quantize(Decimal(1), rounding=ROUND_HALF_UP))
