"""Raw aggregate SQL that runs the same on SQLite and PostgreSQL.

Statements are written with PostgreSQL's `$1, $2, ...` placeholders (each used once, in
order); on SQLite they become `?`. Used where one statement does the work of a loop:
RFM scoring over every member, analytics aggregates.
"""

from __future__ import annotations

import re
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from core.sql import dialect

_PLACEHOLDER = re.compile(r"\$\d+")


def _prepare(sql: str) -> str:
    return sql if dialect() == "postgres" else _PLACEHOLDER.sub("?", sql)


async def rows(
    sql: str, values: list[Any] | None = None, conn: BaseDBAsyncClient | None = None
) -> list[dict[str, Any]]:
    conn = conn or connections.get("default")
    # execute_query_dict always fetches: execute_query drops the rows of an
    # UPDATE ... RETURNING on PostgreSQL.
    return await conn.execute_query_dict(_prepare(sql), values or [])


async def one(
    sql: str, values: list[Any] | None = None, conn: BaseDBAsyncClient | None = None
) -> dict[str, Any]:
    found = await rows(sql, values, conn)
    return found[0] if found else {}


async def execute(
    sql: str, values: list[Any] | None = None, conn: BaseDBAsyncClient | None = None
) -> int:
    conn = conn or connections.get("default")
    affected, _ = await conn.execute_query(_prepare(sql), values or [])
    return int(affected or 0)
