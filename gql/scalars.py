"""Scalars: BigInt (a decimal string) and DateTime normalised to UTC.

Every DateTime that enters the API is converted to UTC (a naive one is taken as UTC), so
stored instants compare correctly on every backend, SQLite's text columns included.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NewType

import strawberry

if TYPE_CHECKING:
    BigInt = int
else:
    BigInt = strawberry.scalar(
        NewType("BigInt", int),
        name="BigInt",
        description="Integer that may exceed 32 bits, serialized as a decimal string.",
        serialize=lambda v: str(int(v)),
        parse_value=lambda v: int(str(v)),
    )


def parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("DateTime must be an ISO 8601 string")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


UTCDateTime: Any = strawberry.scalar(
    NewType("DateTime", datetime),
    name="DateTime",
    description="Date with time (ISO 8601); inputs are normalised to UTC.",
    serialize=lambda v: v.isoformat(),
    parse_value=parse_datetime,
)
