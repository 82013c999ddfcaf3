"""Input checks name the offending field; normalisation keeps one form per value."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import validation
from core.errors import ErrorCode, InvalidInput


def refusal(call, *args):  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput) as caught:
        call(*args)
    assert caught.value.code is ErrorCode.INVALID_INPUT
    return caught.value


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("+84 901 234 567", "0901234567"),
        ("0901-234-567", "0901234567"),
        ("(028) 3822 1234", "02838221234"),
    ],
)
def test_phones_are_normalized(raw: str, stored: str) -> None:
    """Given a phone as people type it, when it is checked, then it is stored in one form."""
    assert validation.phone(raw, "input.phone") == stored


@pytest.mark.parametrize("raw", ["12ab", "123", "+84", "0901 234 567 890 123 4", ""])
def test_bad_phones_name_the_field(raw: str) -> None:
    """Given something that is not a phone, when it is checked, then the refusal names the
    field."""
    assert refusal(validation.phone, raw, "input.phone").field == ["input", "phone"]


def test_emails_are_lowercased_and_checked() -> None:
    """Given an email in any case, when it is checked, then it is kept lowercased; given one
    that is not an email, then the refusal names the field."""
    assert validation.email(" Mai@Example.VN ", "input.email") == "mai@example.vn"
    for bad in ("nope", "a@b", "a b@c.vn", "@c.vn", "x@" + "y" * 250 + ".vn"):
        assert refusal(validation.email, bad, "input.email").field == ["input", "email"]


def test_hhmm_accepts_only_real_times() -> None:
    """Given HH:MM times, when they are checked, then only real times of that form pass."""
    assert validation.hhmm("00:00", "f") == time(0, 0)
    assert validation.hhmm("23:59", "f") == time(23, 59)
    for bad in ("24:00", "7:30", "12:60", "12:5", "noon", "12:00:00"):
        refusal(validation.hhmm, bad, "input.quietHoursStart")


def test_zone_accepts_iana_names_only() -> None:
    """Given zone names, when they are checked, then only IANA names pass, the others are
    refused naming the field."""
    assert validation.zone("Asia/Ho_Chi_Minh", "input.timezone") == "Asia/Ho_Chi_Minh"
    for bad in ("Mars/Base", "GMT+7", "", "../etc/passwd"):
        assert refusal(validation.zone, bad, "input.timezone").field == ["input", "timezone"]


@given(st.decimals(min_value=0, max_value=100, allow_nan=False, places=4))
def test_percent_within_0_100_passes(value: Decimal) -> None:
    """Given a percent within 0..100, when it is checked, then it passes unchanged."""
    assert validation.percent(value, "input.earnRatePercent") == value


@given(
    st.one_of(
        st.decimals(max_value=Decimal("-0.0001"), allow_nan=False, allow_infinity=False),
        st.decimals(min_value=Decimal("100.0001"), allow_nan=False, allow_infinity=False),
    )
)
def test_percent_outside_0_100_is_refused(value: Decimal) -> None:
    """Given a percent outside 0..100, when it is checked, then it is refused."""
    refusal(validation.percent, value, "input.earnRatePercent")


def test_non_negative_and_positive() -> None:
    """Given counts, when they are checked, then non_negative refuses below 0 and positive
    below 1."""
    assert validation.non_negative(0, "input.days") == 0
    assert refusal(validation.non_negative, -1, "input.days").field == ["input", "days"]
    validation.positive(1, "input.points")
    refusal(validation.positive, 0, "input.points")


def test_text_is_trimmed_and_bounded() -> None:
    """Given display names, when they are checked, then they are trimmed, and blank or too
    long ones are refused."""
    assert validation.text("  Hoa  ", "input.displayName", max_len=5) == "Hoa"
    refusal(validation.text, "   ", "input.displayName")
    refusal(validation.text, "x" * 201, "input.displayName")


def test_lists_are_capped_at_100() -> None:
    """Given lists of ids, when they are checked, then 100 pass and 101 are refused naming
    the field."""
    assert len(validation.capped_list(list(range(100)), "input.ids")) == 100
    assert refusal(validation.capped_list, list(range(101)), "input.ids").field == ["input", "ids"]
