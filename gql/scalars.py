"""Scalars: BigInt (a decimal string) and DateTime normalised to UTC.

Every DateTime that enters the API is converted to UTC (a naive one is taken as UTC), so
stored instants compare correctly on every backend, SQLite's text columns included.
Parsing only checks the form; ranges (64 bits, years 2000..2100) are checked per field
by gql/validation.py, which names the field.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NewType

import strawberry

_INTEGER = re.compile("-?[0-9]{1,40}")


def parse_bigint(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    raise ValueError("BigInt must be an integer or a string of decimal digits")


if TYPE_CHECKING:
    BigInt = int
else:
    BigInt = strawberry.scalar(
        NewType("BigInt", int),
        name="BigInt",
        description="Integer that may exceed 32 bits, serialized as a decimal string.",
        serialize=lambda v: str(int(v)),
        parse_value=parse_bigint,
    )


def parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str) or len(value) > 64:
        raise ValueError("DateTime must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:  # year 1 or 9999 with an offset overflows
        raise ValueError("DateTime must be an ISO 8601 date and time") from exc


UTCDateTime: Any = strawberry.scalar(
    NewType("DateTime", datetime),
    name="DateTime",
    description="Date with time (ISO 8601); inputs are normalised to UTC.",
    serialize=lambda v: v.isoformat(),
    parse_value=parse_datetime,
)
