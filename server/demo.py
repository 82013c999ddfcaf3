"""`loyalty seed-demo`: a believable demo shop."""

from __future__ import annotations


async def seed() -> str:
    return "nothing seeded yet"
