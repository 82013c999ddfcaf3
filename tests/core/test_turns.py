"""core.turns: a long loop hands the event loop a turn between its slices."""

from __future__ import annotations

import asyncio

from core import turns


async def test_other_tasks_run_between_slices() -> None:
    # given a loop over 12 items in slices of 5, and another task waiting to run
    seen: list[str] = []

    async def other() -> None:
        seen.append("other")

    waiting = asyncio.get_running_loop().create_task(other())
    # when the loop runs
    async for some in turns.slices(list(range(12)), 5):
        seen.append(f"slice of {len(some)}")
    await waiting
    # then every item was seen once, and the other task ran after the first slice
    assert seen == ["slice of 5", "other", "slice of 5", "slice of 2"]


async def test_an_empty_list_has_no_slice() -> None:
    # given nothing, when sliced, then nothing comes
    assert [s async for s in turns.slices([])] == []
