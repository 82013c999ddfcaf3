"""One Redis score holds a member's score AND when they reached it, so a rank is one ZREVRANK.

    packed = score * 2**31 + (2**31 - 1 - seconds_since_epoch)

A higher score wins; at equal scores the smaller time (reached first) gives the larger
packed value. Redis scores are doubles, exact for integers up to 2**53, hence the budget:

- time: whole seconds since 2025-01-01T00:00Z in 31 bits (until 2093-01-19); earlier times
  count as the epoch, later ones as the last second. Members who reach the same score in the
  same second tie on the packed value and Redis orders them by member id (descending as
  strings), which a rebuild reproduces exactly.
- score: whole units in [-4,194,304, 4,194,303] (the remaining 22 bits and sign). Totals
  outside are held at the bound. ACTION_VALUE counts each occurrence's value rounded half
  up to a whole unit, so report values in units that keep totals in range.

The Lua update script in store.py does the same arithmetic: it reads the current packed
score, adds the delta and re-adds with the later of the stored and the new time, so the
"reached" time is the time of the latest change however events arrive.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

TIME_BITS = 31
SCALE = 2**TIME_BITS
TIME_MAX = SCALE - 1
SCORE_MAX = 2**22 - 1
SCORE_MIN = -(2**22)
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def seconds(at: datetime) -> int:
    """The time part: whole seconds since EPOCH, held inside [0, TIME_MAX]."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    value = math.floor((at - EPOCH).total_seconds())
    return min(max(value, 0), TIME_MAX)


def clamp(score: int) -> int:
    return min(max(score, SCORE_MIN), SCORE_MAX)


def pack(score: int, time_seconds: int) -> int:
    return clamp(score) * SCALE + (TIME_MAX - time_seconds)


def unpack(packed: float | int | str) -> tuple[int, int]:
    """(score, seconds since EPOCH) of a packed Redis score."""
    value = int(float(packed)) if isinstance(packed, str) else int(packed)
    score = value // SCALE
    return score, TIME_MAX - (value - score * SCALE)


def whole_units(value: Decimal | float | int) -> int:
    """An action value as counted by ACTION_VALUE boards: rounded half up to a whole unit."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return int(number.quantize(Decimal(1), rounding=ROUND_HALF_UP))
