"""Engage tests: background work (campaign kicks, message flushes) ends with its test, and
every channel logs again afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from engage import background, senders


@pytest_asyncio.fixture(autouse=True)
async def settle_background() -> AsyncIterator[None]:
    yield
    await background.drain()
    senders.reset()
