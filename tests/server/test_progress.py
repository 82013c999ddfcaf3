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
    # given a terminal
    screen = Terminal()
    # when work of four lines advances to the end
    with Progress("importing", total=4, unit="line", stream=screen) as progress:
        for _ in range(4):
            progress.advance()
    # then each frame redraws the bar in place, and a summary ends it on one line
    frames = screen.getvalue().split("\r\x1b[K")
    assert frames[0] == ""  # nothing before the first frame
    assert frames[1].startswith("importing [" + "." * 30 + "] 0/4 lines   0%")
    assert frames[3].startswith("importing [" + "#" * 15 + "." * 15 + "] 2/4 lines  50%")
    assert frames[-1].startswith("importing: done (4/4 lines, ") and frames[-1].endswith(" s)\n")
    assert screen.getvalue().count("\n") == 1  # one line left on the screen


def test_elsewhere_it_prints_a_line_per_tenth_of_the_work() -> None:
    # given a stream that is not a terminal
    log = io.StringIO()
    # when work of 1000 lines advances to the end
    with Progress("importing", total=1000, unit="line", stream=log) as progress:
        for _ in range(1000):
            progress.advance()
    # then a line is printed per tenth, and a summary
    lines = log.getvalue().splitlines()
    assert lines[0] == "importing..."
    assert lines[1] == "importing: 100/1000 lines (10%)"
    assert lines[10] == "importing: 1000/1000 lines (100%)"
    assert lines[11].startswith("importing: done (1000/1000 lines, ")
    assert len(lines) == 12


def test_a_failure_is_said_so() -> None:
    # given a stream
    log = io.StringIO()
    # when the work fails half-way
    with pytest.raises(RuntimeError), Progress("rebuilding", total=2, stream=log) as progress:
        progress.advance()
        raise RuntimeError("boom")
    # then the last line says it failed, and how far it got
    assert log.getvalue().splitlines()[-1].startswith("rebuilding: failed (1/2, ")


async def test_work_without_steps_keeps_a_spinner_turning() -> None:
    # given a terminal
    screen = Terminal()
    # when work without steps ticks for a while
    async with Progress("scoring RFM", stream=screen).ticking(every=0.01):
        await asyncio.sleep(0.1)
    # then its spinner turned, and a summary ends it
    frames = screen.getvalue().split("\r\x1b[K")[1:]
    spinners = {frame.split(" ")[2] for frame in frames[:-1]}
    assert len(spinners) > 1  # it turned
    assert frames[-1].startswith("scoring RFM: done (") and frames[-1].endswith(" s)\n")
