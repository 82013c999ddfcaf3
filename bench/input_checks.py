"""What the input checks (gql/validation.py) cost per request, in-process, no I/O.

Times the check precomputed for a field (the code that runs before its resolver) on
typical and on large arguments, next to the floor of executing `{ viewerRole }`.

    .venv/bin/python -m bench.input_checks [--calls 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bench import common

CASES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "recordOrder (5 fields)": (
        "Mutation",
        "recordOrder",
        {
            "input": {
                "orderId": "HD-000123",
                "memberExternalId": "pos:0001",
                "amount": Decimal("250000"),
                "occurredAt": datetime(2026, 6, 1, tzinfo=UTC),
                "channel": "store",
            }
        },
    ),
    "trackAction (attributes)": (
        "Mutation",
        "trackAction",
        {
            "input": {
                "type": "review.posted",
                "idempotencyKey": "k-123456",
                "attributes": {"channel": "app", "stars": 5, "tags": ["a", "b", "c"]},
            }
        },
    ),
    "spin (ID + seed)": ("Mutation", "spin", {"wheelId": "12", "clientSeed": "x" * 64}),
    "pointsHistory (cursor)": ("Query", "pointsHistory", {"first": 20, "after": "MTIzNDU2"}),
    "enrollMember (100 tags of 100 chars)": (
        "Mutation",
        "enrollMember",
        {"input": {"externalId": "pos:1", "displayName": "Lan", "tags": ["t" * 100] * 100}},
    ),
}


def per_call(fn: Callable[[], Any], calls: int) -> float:
    for _ in range(min(1000, calls)):
        fn()
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls


async def floor(calls: int) -> float:
    from core.security import Role, Viewer
    from core.settings import Settings
    from gql.context import Context
    from gql.schema import build_schema

    schema = build_schema()
    context = Context(settings=Settings(), viewer=Viewer(role=Role.INTEGRATION))
    for _ in range(200):
        await schema.execute("{ viewerRole }", context_value=context)
    started = time.perf_counter()
    for _ in range(calls):
        await schema.execute("{ viewerRole }", context_value=context)
    return (time.perf_counter() - started) / calls


def main(calls: int) -> None:
    from gql.schema import build_schema

    common.print_machine()
    started = time.perf_counter()
    schema = build_schema()
    print(
        f"build_schema() with the checks installed: {(time.perf_counter() - started) * 1000:.0f} ms"
    )
    for label, (operation, name, arguments) in CASES.items():
        field = schema._schema.get_type(operation).fields[name]  # type: ignore[union-attr]
        check = field.resolve.__loyalty_check__
        seconds = per_call(lambda c=check, a=arguments: c(a), calls)
        print(f"  {label:40s} {seconds * 1e6:7.2f} µs per call")
    base = asyncio.run(floor(max(500, calls // 10)))
    print(f"  floor: schema.execute('{{ viewerRole }}') {base * 1e6:7.1f} µs per call")
    common.print_load_after()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    main(parser.parse_args().calls)
