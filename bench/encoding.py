"""What a set-based write's parameters cost to send: asyncpg's encoding against PostgreSQL's
parsing, per array of 5,000 values (a trackActions batch: 100 actions x 50 missions).

Each case runs one prepared `SELECT cardinality($1::...)` with one array parameter: the
Python side builds the list (a conversion included, where the case has one), asyncpg
encodes it, PostgreSQL decodes it. The figure is the best of three rounds of 40 calls, in
milliseconds per call, beside an empty array's (the round trip alone).

    LOYALTY_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.encoding [--values 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench import common


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", type=int, default=5000)
    args = parser.parse_args()
    url = common.bench_database_url()
    if not url or common.backend(url) != "PostgreSQL":
        raise SystemExit("bench.encoding runs on PostgreSQL: set LOYALTY_BENCH_DATABASE_URL")
    import asyncpg

    n = args.values
    numbers = [Decimal(i % 40) for i in range(n)]
    now = datetime.now(UTC)
    times = [now + timedelta(microseconds=i) for i in range(n)]
    cases: dict[str, tuple[str, Callable[[], list[Any]]]] = {
        "empty array (the round trip)": ("$1::bigint[]", lambda: []),
        "bigint[] of ints": ("$1::bigint[]", lambda: [i % 40 for i in range(n)]),
        "numeric[] of Decimals": ("$1::numeric[]", lambda: numbers),
        "text[]::numeric[] of str(Decimal)": (
            "$1::text[]::numeric[]",
            lambda: [str(d) for d in numbers],
        ),
        "timestamptz[] of datetimes": ("$1::timestamptz[]", lambda: times),
        "text[]::timestamptz[] of isoformat()": (
            "$1::text[]::timestamptz[]",
            lambda: [t.isoformat() for t in times],
        ),
        "timestamptz[] of None": ("$1::timestamptz[]", lambda: [None] * n),
        "text[] of one period key": ("$1::text[]", lambda: ["2026-11-30"] * n),
    }
    print(common.machine())
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        for name, (param, values) in cases.items():
            statement = await connection.prepare(f"SELECT cardinality({param})")
            for _ in range(5):
                await statement.fetchval(values())
            best = float("inf")
            for _ in range(3):
                began = time.perf_counter()
                for _ in range(40):
                    await statement.fetchval(values())
                best = min(best, (time.perf_counter() - began) / 40)
            print(f"{name:40s} {best * 1000:6.2f} ms per {n:,} values")
    finally:
        await connection.close()


if __name__ == "__main__":
    asyncio.run(main())
