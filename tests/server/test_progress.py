"""The progress helper: a bar redrawn in place on a terminal, a few plain lines otherwise."""

from __future__ import annotations

import asyncio
import io

import pytest

from server.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_bar_is_redrawn_in_place_and_ends_with_a_summary() -> None:
    screen = Terminal()
    with Progress("importing", total=4, unit="line", stream=screen) as progress:
        for _ in range(4):
            progress.advance()
    frames = screen.getvalue().split("\r\x1b[K")
    assert frames[0] == ""  # nothing before the first frame
    assert frames[1].startswith("importing [" + "." * 30 + "] 0/4 lines   0%")
    assert frames[3].startswith("importing [" + "#" * 15 + "." * 15 + "] 2/4 lines  50%")
    assert frames[-1].startswith("importing: done (4/4 lines, ") and frames[-1].endswith(" s)\n")
    assert screen.getvalue().count("\n") == 1  # one line left on the screen


def test_elsewhere_it_prints_a_line_per_tenth_of_the_work() -> None:
    log = io.StringIO()
    with Progress("importing", total=1000, unit="line", stream=log) as progress:
        for _ in range(1000):
            progress.advance()
    lines = log.getvalue().splitlines()
    assert lines[0] == "importing..."
    assert lines[1] == "importing: 100/1000 lines (10%)"
    assert lines[10] == "importing: 1000/1000 lines (100%)"
    assert lines[11].startswith("importing: done (1000/1000 lines, ")
    assert len(lines) == 12


def test_a_failure_is_said_so() -> None:
    log = io.StringIO()
    with pytest.raises(RuntimeError), Progress("rebuilding", total=2, stream=log) as progress:
        progress.advance()
        raise RuntimeError("boom")
    assert log.getvalue().splitlines()[-1].startswith("rebuilding: failed (1/2, ")


async def test_work_without_steps_keeps_a_spinner_turning() -> None:
    screen = Terminal()
    async with Progress("scoring RFM", stream=screen).ticking(every=0.01):
        await asyncio.sleep(0.1)
    frames = screen.getvalue().split("\r\x1b[K")[1:]
    spinners = {frame.split(" ")[2] for frame in frames[:-1]}
    assert len(spinners) > 1  # it turned
    assert frames[-1].startswith("scoring RFM: done (") and frames[-1].endswith(" s)\n")
