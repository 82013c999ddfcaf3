"""Quiet hours in the program's zone: when a moment is quiet, and when the quiet ends."""

from __future__ import annotations

from datetime import UTC, datetime

from engage.quiet_hours import ends_at, release_time

ZONE = "Asia/Ho_Chi_Minh"  # UTC+7


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=UTC)


def test_a_window_spanning_midnight_holds_evening_and_early_morning() -> None:
    # given quiet hours 21:00..08:00 local = 14:00..01:00 UTC
    # when moments around them are checked
    # then those inside end at 08:00 local, those outside are not held
    assert ends_at(utc(10, 13, 59), "21:00", "08:00", ZONE) is None  # 20:59 local
    assert ends_at(utc(10, 14, 0), "21:00", "08:00", ZONE) == utc(11, 1)  # 21:00 local
    assert ends_at(utc(10, 17, 0), "21:00", "08:00", ZONE) == utc(11, 1)  # 00:00 local
    assert ends_at(utc(10, 0, 59), "21:00", "08:00", ZONE) == utc(10, 1)  # 07:59 local
    assert ends_at(utc(10, 1, 0), "21:00", "08:00", ZONE) is None  # 08:00 local: over


def test_a_daytime_window() -> None:
    # given quiet hours 12:00..14:00 local = 05:00..07:00 UTC
    # when moments around them are checked
    # then only those inside are held, until 14:00 local
    assert ends_at(utc(10, 4, 59), "12:00", "14:00", ZONE) is None
    assert ends_at(utc(10, 5, 0), "12:00", "14:00", ZONE) == utc(10, 7)
    assert ends_at(utc(10, 7, 0), "12:00", "14:00", ZONE) is None


def test_no_window_when_unset_or_empty() -> None:
    # given 22:00 local
    at = utc(10, 15)
    # when quiet hours are unset, half set or empty
    # then nothing is held; set, it is held until 08:00
    assert ends_at(at, None, "08:00", ZONE) is None
    assert ends_at(at, "21:00", None, ZONE) is None
    assert ends_at(at, "08:00", "08:00", ZONE) is None
    assert release_time(at, None, None, ZONE) == at
    assert release_time(at, "21:00", "08:00", ZONE) == utc(11, 1)


def test_several_windows_hold_a_moment_until_the_quiet_is_over() -> None:
    from engage.quiet_hours import quiet_until, release

    # given a lunch window and a night window
    windows = [("11:30", "13:30"), ("21:00", "08:00")]
    # when 12:00 local (05:00 UTC), lunch, is checked
    # then it is held until 13:30 local (06:30 UTC)
    assert quiet_until(utc(10, 5), windows, ZONE) == utc(10, 6, 30)
    # and 22:00 local, night, is held until 08:00 local the next day
    assert quiet_until(utc(10, 15), windows, ZONE) == utc(11, 1)
    # and 10:00 local, between them, is not held
    assert quiet_until(utc(10, 3), windows, ZONE) is None
    assert release(utc(10, 3), windows, ZONE) == utc(10, 3)


def test_windows_that_touch_or_overlap_are_one_stretch() -> None:
    from engage.quiet_hours import quiet_until

    # given 21:00..23:00 and 22:30..08:00
    windows = [("21:00", "23:00"), ("22:30", "08:00")]
    # when a moment at 21:30 is checked
    # then it waits until 08:00
    assert quiet_until(utc(10, 14, 30), windows, ZONE) == utc(11, 1)
    # and given 12:00..13:00 then 13:00..14:00, 12:15 waits until 14:00
    assert quiet_until(utc(10, 5, 15), [("12:00", "13:00"), ("13:00", "14:00")], ZONE) == utc(10, 7)
