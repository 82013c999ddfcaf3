"""Scalars the contract adds to GraphQL's own: BigInt (as a decimal string)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NewType

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
