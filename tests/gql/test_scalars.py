"""DateTime inputs are normalised to UTC, whatever offset the client sends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gql.scalars import parse_datetime


def test_offset_datetime_becomes_the_same_instant_in_utc() -> None:
    # given a DateTime at +07:00
    # when it is parsed
    parsed = parse_datetime("2026-06-01T07:30:00+07:00")
    # then it is the same instant, in UTC
    assert parsed == datetime(2026, 6, 1, 0, 30, tzinfo=UTC)
    assert parsed.utcoffset() is not None and parsed.utcoffset().total_seconds() == 0


def test_naive_datetime_is_taken_as_utc() -> None:
    """Given a DateTime without an offset, when it is parsed, then it is taken as UTC."""
    assert parse_datetime("2026-06-01T00:30:00") == datetime(2026, 6, 1, 0, 30, tzinfo=UTC)


def test_non_string_is_refused() -> None:
    """Given a number where a DateTime should be, when it is parsed, then it is refused."""
    with pytest.raises(ValueError):
        parse_datetime(12345)
