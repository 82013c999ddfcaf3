"""Codes, cursors and the program-zone calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import clock, ids


def test_codes_use_only_unambiguous_characters() -> None:
    # given the unambiguous alphabet
    # when 500 codes of 8 characters are made
    codes = {ids.code(8) for _ in range(500)}
    # then they are distinct and drawn only from the unambiguous alphabet
    assert len(codes) == 500
    assert all(len(c) == 8 and set(c) <= set(ids.UNAMBIGUOUS) for c in codes)
    assert not set("0O1IL5S2Z8B") & set(ids.UNAMBIGUOUS)


@given(st.lists(st.integers(min_value=0) | st.text(alphabet="abc-_.", min_size=1), min_size=1))
def test_cursors_round_trip(parts: list[object]) -> None:
    """Given any parts, when they are encoded into a cursor and decoded, then they come back."""
    assert ids.decode_cursor(ids.encode_cursor(*parts)) == [str(p) for p in parts]


def test_a_foreign_cursor_is_a_value_error() -> None:
    """Given text that no cursor encodes, when it is decoded, then it is a ValueError."""
    with pytest.raises(ValueError):
        ids.decode_cursor("%%%")


def test_frozen_clock_advances_only_when_told() -> None:
    # given a clock frozen at 16:59
    clock.freeze(datetime(2026, 1, 31, 16, 59))
    # then it stays there
    assert clock.now() == datetime(2026, 1, 31, 16, 59, tzinfo=UTC)
    # when it is told to advance two minutes
    clock.advance(timedelta(minutes=2))
    # then it moves by exactly that
    assert clock.now() == datetime(2026, 1, 31, 17, 1, tzinfo=UTC)


def test_local_windows_follow_the_program_zone() -> None:
    # given 16:59 UTC on Jan 31, 23:59 in Saigon, and two minutes later, Feb 1 there
    zone = "Asia/Ho_Chi_Minh"
    before = datetime(2026, 1, 31, 16, 59, tzinfo=UTC)
    after = before + timedelta(minutes=2)
    # when the days, months and weeks are keyed in the program's zone
    # then they follow the local calendar, not UTC's
    assert clock.day_key(before, zone) == "2026-01-31"
    assert clock.day_key(after, zone) == "2026-02-01"
    assert clock.month_key(before, zone) == "2026-01" and clock.month_key(after, zone) == "2026-02"
    assert clock.day_key(after, "UTC") == "2026-01-31"
    assert clock.week_key(datetime(2026, 1, 4, 17, 0, tzinfo=UTC), zone) == "2026-W02"
    assert clock.start_of_local_day(date(2026, 2, 1), zone) == datetime(
        2026, 1, 31, 17, 0, tzinfo=UTC
    )
