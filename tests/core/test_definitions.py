"""The definitions snapshot (core/definitions.py): a write never waits for a reload that
needs the connection the write holds."""

from __future__ import annotations

import asyncio

from core import definitions, sql
from core.events import unit_of_work
from rewards import promotions


async def test_a_write_does_not_wait_for_a_reader_reloading_on_its_connection() -> None:
    # given a reader outside any write (a background flush) reloading a stale snapshot under
    # the process's lock, held up inside one of the parts' loaders
    loading, go_on = asyncio.Event(), asyncio.Event()

    async def held_up() -> tuple[promotions.Promotion, ...]:
        loading.set()
        await go_on.wait()
        return await promotions.load_definitions()

    definitions.loader("promotions", held_up)
    try:
        reader = asyncio.create_task(definitions.get())
        await loading.wait()
        async with unit_of_work():
            # and a write that holds its connection (on SQLite the only one) by the time the
            # reader's next query waits for a connection
            await sql.row("SELECT 1 AS one")
            go_on.set()
            await asyncio.sleep(0.05)
            # when the write needs the definitions
            mine = await asyncio.wait_for(definitions.get(), 5)
        # then it has them, and the reader finishes its load once the write is done
        theirs = await asyncio.wait_for(reader, 5)
        assert mine.version == theirs.version
        assert mine["promotions"] == theirs["promotions"] == ()
    finally:
        definitions.loader("promotions", promotions.load_definitions)
