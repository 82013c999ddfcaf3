"""Scalars: BigInt (a decimal string), DateTime normalised to UTC, and whole-number Floats.

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
from graphql import GraphQLFloat, GraphQLLeafType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

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


class WholeNumber(int):
    """The value of a Float field that is always a whole number (a leaderboard score).

    `WholeNumbers` sends it as a JSON integer, 3404 rather than 3404.0: still a valid Float
    (JSON has one kind of number), read as an integer by clients that tell them apart, and
    exact, since such fields stay within 2**53. Other Float values are sent as before.
    """


class WholeNumbers(StrawberryGraphQLCoreExecutionContext):
    """The schema's executor: a Float field's WholeNumber leaves as a JSON integer."""

    @staticmethod
    def complete_leaf_value(return_type: GraphQLLeafType, result: Any) -> Any:
        if isinstance(result, WholeNumber) and return_type is GraphQLFloat:
            return int(result)
        return StrawberryGraphQLCoreExecutionContext.complete_leaf_value(return_type, result)
