"""Counting the SQL statements a piece of work runs (tortoise logs each one at DEBUG).

Only the statements of the task that counts (an in-process request runs in it): work a
request kicks into the background (a delivery flush) runs in its own task, at its own time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Statements:
    texts: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.texts)


class _Collector(logging.Handler):
    def __init__(self, into: Statements) -> None:
        super().__init__(logging.DEBUG)
        self.into = into
        self.task = asyncio.current_task()

    def emit(self, record: logging.LogRecord) -> None:
        if asyncio.current_task() is not self.task:
            return
        message = record.getMessage()
        if not message.startswith(("Created connection", "Closed connection")):
            self.into.texts.append(message)


@contextmanager
def counting() -> Iterator[Statements]:
    """The statements run inside the block (requests in-process, the suite's connection)."""
    logger = logging.getLogger("tortoise.db_client")
    found = Statements()
    handler = _Collector(found)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield found
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
