"""Retry a whole write when PostgreSQL aborted it as a deadlock victim or serialization failure,
or when its optimistic draw on the issuance budget found its shard short.

Ledger writes lock a member's accounts before the program's, but one unit of work may
credit two members (an order and its referrer's commission), so PostgreSQL can still pick
a deadlock victim; the transaction rolled back entirely, so running it again is safe.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")
RETRYABLE = {"40P01", "40001"}  # deadlock_detected, serialization_failure
ATTEMPTS = 4


def retryable(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if getattr(seen, "sqlstate", None) in RETRYABLE:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class ShardShort(Exception):
    """An optimistic credit found its issuance shard short: the write rolled back, and runs
    again drawing carefully (the shard first, the others helping)."""


# Credits draw on their shard inside the unit's last statement (no round trip of their own)
# while this is true; a write running with `retrying` sets it, and clears it on a retry.
optimistic: ContextVar[bool] = ContextVar("optimistic_draws", default=False)


async def retrying(write: Callable[[], Awaitable[T]]) -> T:
    careful = False
    for attempt in range(ATTEMPTS):
        token = optimistic.set(not careful)
        try:
            return await write()
        except ShardShort:
            careful = True
            if attempt == ATTEMPTS - 1:
                raise
        except Exception as exc:
            if attempt == ATTEMPTS - 1 or not retryable(exc):
                raise
            await asyncio.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
        finally:
            optimistic.reset(token)
    raise AssertionError("unreachable")
