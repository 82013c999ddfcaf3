"""Retry a whole write when PostgreSQL aborted it as a deadlock victim or serialization failure.

Ledger writes lock a member's accounts before the program's, but one unit of work may
credit two members (an order and its referrer's commission), so PostgreSQL can still pick
a deadlock victim; the transaction rolled back entirely, so running it again is safe.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
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


async def retrying(write: Callable[[], Awaitable[T]]) -> T:
    for attempt in range(ATTEMPTS):
        try:
            return await write()
        except Exception as exc:
            if attempt == ATTEMPTS - 1 or not retryable(exc):
                raise
            await asyncio.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
    raise AssertionError("unreachable")
