"""members/program.py validate(): settings that would stop earning or mean different things
on different hosts are refused by the domain itself, whatever calls it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from core.errors import InvalidInput
from members.program import MAX_DAYS, ProgramChanges, iana_zones, validate


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("points_expiry_days", 3_000_000),
        ("points_expiry_days", MAX_DAYS + 1),
        ("points_pending_days", 2**31 - 1),
        ("tier_grace_days", MAX_DAYS + 1),
        ("referral_window_days", 100_000),
        ("timezone", "localtime"),
        ("timezone", "posixrules"),
        ("timezone", "Factory"),
        ("timezone", "A" * 5000),
        ("timezone", "../../etc/passwd"),
        ("earn_rate_percent", Decimal("NaN")),
        ("earn_rate_percent", Decimal("sNaN")),
        ("earn_rate_percent", Decimal("100.01")),
        ("referral_rate_percent", Decimal("-1")),
        ("point_value", Decimal("Infinity")),
        ("point_value", Decimal("1e-30")),
        ("tier_point_unit", Decimal("-Infinity")),
    ],
)
def test_out_of_bounds_settings_are_refused_naming_the_field(name: str, value: Any) -> None:
    """Given a setting out of its bounds, when the domain validates it, then it is refused
    naming its field."""
    with pytest.raises(InvalidInput) as refused:
        validate(ProgramChanges(**{name: value}))
    assert refused.value.field == [name]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("points_expiry_days", MAX_DAYS),
        ("tier_grace_days", 0),
        ("timezone", "Asia/Ho_Chi_Minh"),
        ("timezone", "UTC"),
        ("earn_rate_percent", Decimal("100")),
        ("point_value", Decimal("0.0001")),
    ],
)
def test_settings_within_bounds_pass(name: str, value: Any) -> None:
    """Given a setting at the edge of its bounds, when the domain validates it, then it passes
    unchanged."""
    assert validate(ProgramChanges(**{name: value}))[name] == value


def test_zones_are_the_iana_list() -> None:
    """Given the host, when its zones are listed, then they are the IANA names, not the
    host's own aliases."""
    zones = iana_zones()
    assert {"Asia/Ho_Chi_Minh", "Asia/Bangkok", "UTC", "Europe/Paris"} <= zones
    assert not {"localtime", "posixrules", "Factory"} & zones
