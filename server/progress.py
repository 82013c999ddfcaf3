"""Progress of long commands (rebuild-leaderboards, rfm, imports): a bar redrawn in place
on a terminal, a few plain lines otherwise (logs, CI, pipes).

    with Progress("rebuilding boards", total=len(boards), unit="board") as progress:
        for board in boards:
            ...
            progress.advance()

With no total (one long statement), `async with Progress(...).ticking():` keeps a spinner
and the elapsed time moving while the work runs. Progress goes to stderr: stdout keeps the
command's summary for scripts.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TextIO

WIDTH = 30
SPINNER = "|/-\\"
PLAIN_STEPS = 10  # plain output: a line at each tenth of the work


class Progress:
    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        unit: str = "",
        stream: TextIO | None = None,
        tty: bool | None = None,
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.done = 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.started = time.monotonic()
        self._ticks = 0
        self._plain_step = 0  # plain lines at each tenth reached, not at the start
        self._closed = False
        if not self.tty:
            self._line(f"{self.label}...")

    def __enter__(self) -> Progress:
        self._draw()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close(failed=kind is not None)

    def advance(self, by: int = 1) -> None:
        self.done += by
        self._draw()

    @contextlib.asynccontextmanager
    async def ticking(self, every: float = 0.1) -> AsyncIterator[Progress]:
        """Redraw every `every` seconds while the body runs (for work with no steps)."""

        async def tick() -> None:
            while True:
                await asyncio.sleep(every)
                self._ticks += 1
                self._draw()

        ticker = asyncio.create_task(tick()) if self.tty else None
        try:
            with self:
                yield self
        finally:
            if ticker is not None:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker

    def close(self, failed: bool = False) -> None:
        if self._closed:
            return
        self._closed = True
        seconds = time.monotonic() - self.started
        outcome = "failed" if failed else "done"
        counted = f"{self._count()}, " if self.total is not None else ""
        text = f"{self.label}: {outcome} ({counted}{seconds:.1f} s)"
        if self.tty:
            self.stream.write("\r\x1b[K" + text + "\n")
            self.stream.flush()
        else:
            self._line(text)

    def _count(self) -> str:
        unit = f" {self.unit}{'' if self.total == 1 else 's'}" if self.unit else ""
        return f"{self.done}/{self.total}{unit}"

    def _draw(self) -> None:
        if self._closed:
            return
        if not self.tty:
            self._plain()
            return
        seconds = time.monotonic() - self.started
        if self.total:
            filled = min(WIDTH, WIDTH * self.done // self.total)
            bar = "#" * filled + "." * (WIDTH - filled)
            percent = min(100, 100 * self.done // self.total)
            text = f"{self.label} [{bar}] {self._count()} {percent:3d}% {seconds:.1f} s"
        else:
            spinner = SPINNER[self._ticks % len(SPINNER)]
            text = f"{self.label} {spinner} {seconds:.1f} s"
        self.stream.write("\r\x1b[K" + text)
        self.stream.flush()

    def _plain(self) -> None:
        if not self.total:
            return
        step = min(PLAIN_STEPS, PLAIN_STEPS * self.done // self.total)
        if step > self._plain_step and self.done:
            self._plain_step = step
            self._line(f"{self.label}: {self._count()} ({100 * self.done // self.total}%)")

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()
