"""Engage tests: background work (campaign kicks, push flushes) ends with its test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from engage import background, push


@pytest_asyncio.fixture(autouse=True)
async def settle_background() -> AsyncIterator[None]:
    yield
    await background.drain()
    push.use(push.LogSender())
