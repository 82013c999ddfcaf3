"""Counting the SQL statements a piece of work runs (tortoise logs each one at DEBUG).

Not the statements of background work (core.sql.spawn: a delivery flush a request kicked,
the outbox deleting relayed rows): it runs at its own time, so counting it made counts random.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from core import sql


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

    def emit(self, record: logging.LogRecord) -> None:
        if sql.in_spawned_task():
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
