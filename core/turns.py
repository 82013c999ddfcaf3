"""Long loops in a serving process hand the event loop a turn now and then.

A loop over a million rows (the leaderboards' reconciliation and rebuild) runs for seconds
of CPU; done in one go it holds every request of the process behind it. In slices of
SLICE items with a turn between them, a request waits for one slice at most.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import TypeVar

T = TypeVar("T")

SLICE = 5000


async def slices(items: Sequence[T], size: int = SLICE) -> AsyncIterator[Sequence[T]]:
    """`items` in slices of `size`, the event loop taking a turn before each after the first."""
    for start in range(0, len(items), size):
        if start:
            await asyncio.sleep(0)
        yield items[start : start + size]
