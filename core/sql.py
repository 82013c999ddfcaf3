"""Plain SQL on the current connection: the hot paths' statements, one held connection.

Hot paths write SQL, not ORM queries: a fixed statement text per shape (PostgreSQL
prepares and caches it), no model objects, and multi-row writes in ONE statement.

- `dialect()`: "postgres" or "sqlite", the one place that tells them apart.
- `rows` / `row` / `execute`: run a statement written with `$1, $2 ...` placeholders on
  the current connection (the unit of work's transaction, the request's held
  connection, or the pool); SQLite gets `?1, ?2 ...`, which it reads the same way.
- `values(...)`: a multi-row source of a fixed statement text, whatever the row count:
  `unnest($n::type[], ...)` on PostgreSQL, `json_each($n)` on SQLite.
- `held()`: hold one pooled connection for a whole request. Tortoise otherwise gives the
  connection back to asyncpg's pool after every query outside a transaction, and the pool
  resets it on release: one extra round trip per query.
- `decode_*`: SQLite hands datetimes, dates and decimals back as text.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal, TypeVar

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionContext
from tortoise.connection import get_connections
from tortoise.exceptions import IntegrityError, TransactionManagementError
from tortoise.transactions import in_transaction

Dialect = Literal["postgres", "sqlite"]
T = TypeVar("T")
ALIAS = "default"
_PLACEHOLDER = re.compile(r"\$(\d+)")


def client() -> BaseDBAsyncClient:
    """The connection queries of this task run on now (transaction, held, or pool)."""
    return get_connections().get(ALIAS)


def _postgres(found: BaseDBAsyncClient) -> bool:
    return bool(found.capabilities.dialect == "postgres")


def dialect() -> Dialect:
    return "postgres" if _postgres(client()) else "sqlite"


@lru_cache(maxsize=1024)
def _sqlite(sql: str) -> str:
    return _PLACEHOLDER.sub(r"?\1", sql)


def text(sql: str) -> str:
    """The statement for the current dialect ($n placeholders become ?n on SQLite)."""
    return sql if dialect() == "postgres" else _sqlite(sql)


def _params(params: Sequence[Any]) -> list[Any]:
    if dialect() == "postgres":
        return list(params)
    return _sqlite_params(params)


def _sqlite_params(params: Sequence[Any]) -> list[Any]:
    # As tortoise writes them: UTC text, so SQLite's text comparisons stay right.
    return [_for_sqlite(p) if isinstance(p, datetime) else p for p in params]


async def rows(sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """All rows of a statement (SELECT, or a write with RETURNING)."""
    found = client()  # once: finding the task's connection is most of a small query's cost
    if _postgres(found):
        return await found.execute_query_dict(sql, list(params))
    return await found.execute_query_dict(_sqlite(sql), _sqlite_params(params))


async def row(sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
    found = await rows(sql, params)
    return found[0] if found else None


async def execute(sql: str, params: Sequence[Any] = ()) -> int:
    """Run a statement without RETURNING; the number of rows it changed."""
    found = client()
    if _postgres(found):
        # Tortoise reads the count of "INSERT 0 1" as its second word (the oid, 0): ask
        # the connection itself and read the last word.
        statement = sql
        found.log.debug("%s: %s", statement, params)
        try:
            async with found.acquire_connection() as connection:
                status = await connection.execute(statement, *params)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(exc) from exc
        last = str(status).rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else 0
    changed, _ = await found.execute_query(_sqlite(sql), _sqlite_params(params))
    return int(changed)


_housekeeping_log = logging.getLogger("loyalty.sql.housekeeping")


async def housekeeping(sql: str, params: Sequence[Any] = ()) -> None:
    """Run background upkeep that belongs to no request (deleting relayed outbox rows in
    batches) on its own connection, logged apart from the statements requests run."""
    statement, values = text(sql), _params(params)
    _housekeeping_log.debug("%s: %s", statement, values)
    async with client().acquire_connection() as connection:
        if dialect() == "postgres":
            await connection.execute(statement, *values)
        else:
            await connection.execute(statement, values)


@asynccontextmanager
async def snapshot() -> AsyncIterator[None]:
    """Reads that must see ONE state of the database (an audit under load): a read-only
    REPEATABLE READ transaction on PostgreSQL, one read transaction on SQLite."""
    async with in_transaction():
        if dialect() == "postgres":
            await execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


Statement = tuple[str, list[Any]]


@dataclass(frozen=True)
class Checked:
    """A write that must return exactly `rows` rows (a conditional UPDATE ... RETURNING);
    when it does not, execute_all raises `failure` and the caller's transaction rolls back."""

    sql: str
    params: list[Any]
    rows: int
    failure: Exception


@lru_cache(maxsize=1024)
def _shift(statement: str, offset: int) -> str:
    return _PLACEHOLDER.sub(lambda m: f"${int(m.group(1)) + offset}", statement)


async def execute_all(
    statements: Sequence[Statement | Checked], last: Statement | None = None
) -> dict[str, Any] | None:
    """Run independent writes, then `last` (whose RETURNING row is returned).

    On PostgreSQL they go as ONE statement of data-modifying CTEs (one round trip): they
    must not depend on each other's effects, nor touch a row twice. On SQLite one by one.
    """
    everything: list[Statement | Checked] = [*statements, *([last] if last else [])]
    if not everything:
        return None
    if dialect() == "sqlite" or len(everything) == 1:
        for each in statements:
            if isinstance(each, Checked):
                if len(await rows(each.sql, each.params)) != each.rows:
                    raise each.failure
            else:
                await execute(*each)
        return await row(*last) if last else None
    parts: list[str] = []
    params: list[Any] = []
    counts: list[str] = []
    checks: list[tuple[int, Checked]] = []
    for n, each in enumerate(everything):
        sql_text, values_ = (each.sql, each.params) if isinstance(each, Checked) else each
        parts.append(f"w{n} AS ({_shift(sql_text, len(params))})")
        params += values_
        if isinstance(each, Checked):
            counts.append(f"(SELECT COUNT(*) FROM w{n}) AS c{n}")
            checks.append((n, each))
    picks = ", ".join([*(["w_last.*"] if last else []), *counts]) or "1"
    tail = f" FROM w{len(everything) - 1} AS w_last" if last else ""
    found = await row(f"WITH {', '.join(parts)} SELECT {picks}{tail}", params)
    assert found is not None or not (last or checks)
    for n, each in checks:
        if found is None or int(found[f"c{n}"]) != each.rows:
            raise each.failure
    if found is not None:
        for n, _ in checks:
            found.pop(f"c{n}", None)
    return found if last else None


# ------------------------------------------------------------------ multi-row sources

# Column types of `values()`: the PostgreSQL array element type of each.
PG_TYPES = {
    "int": "bigint",
    "text": "text",
    "bool": "boolean",
    "numeric": "numeric",
    "timestamp": "timestamptz",
    "date": "date",
    "json": "text",  # cast to the column's json/jsonb by the statement itself
}


def _for_sqlite(value: Any) -> Any:
    """A value as tortoise stores it in SQLite (so text comparisons keep working)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bool):
        return int(value)
    return value


def values(
    columns: Sequence[tuple[str, str]], data: Sequence[Sequence[Any]], first: int
) -> tuple[str, list[Any]]:
    """A `SELECT` of `data` as rows named `columns` ((name, type) pairs), for use inside a
    statement whose next placeholder is `$first`; returns (sql, params).

    The statement text does not depend on the number of rows. JSON columns are passed as
    text: write `v.name::jsonb` on PostgreSQL where the column is jsonb.
    """
    names = [name for name, _ in columns]
    if dialect() == "postgres":
        arrays = [_array(first + i, kind) for i, (_, kind) in enumerate(columns)]
        params: list[Any] = [
            [_numeric_text(r[i]) for r in data] if kind == "numeric" else [r[i] for r in data]
            for i, (_, kind) in enumerate(columns)
        ]
        sql = f"SELECT * FROM unnest({', '.join(arrays)}) AS v({', '.join(names)})"
        return sql, params
    picks = ", ".join(f"value->>{i} AS {name}" for i, name in enumerate(names))
    payload = json.dumps([[_for_sqlite(v) for v in r] for r in data], separators=(",", ":"))
    return f"SELECT {picks} FROM json_each(${first})", [payload]


def _array(n: int, kind: str) -> str:
    # Numbers go as text: asyncpg encodes a Decimal about twice as slowly as PostgreSQL
    # parses its text (an action's 50 progress values, a batch's 5,000).
    return f"${n}::text[]::numeric[]" if kind == "numeric" else f"${n}::{PG_TYPES[kind]}[]"


def _numeric_text(value: Any) -> str | None:
    return None if value is None else str(value)


def id_list(ids: Sequence[Any], param: int, kind: str = "int") -> tuple[str, list[Any]]:
    """`= ANY($n)` on PostgreSQL, `IN (SELECT value FROM json_each($n))` on SQLite."""
    if dialect() == "postgres":
        return f"= ANY(${param}::{PG_TYPES[kind]}[])", [list(ids)]
    payload = json.dumps([_for_sqlite(v) for v in ids], separators=(",", ":"))
    return f"IN (SELECT value FROM json_each(${param}))", [payload]


def json_param(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str, ensure_ascii=False)


# ------------------------------------------------------------------ decoding


def decode_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def decode_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def decode_decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def decode_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


# ------------------------------------------------------------------ a held connection


class _Held(TransactionWrapper):
    """A pooled connection held for a request: queries run on it outside any transaction;
    `in_transaction()` begins one on the same connection."""

    def __init__(self, parent: AsyncpgDBClient, connection: Any) -> None:
        self._connection = connection
        self._lock = asyncio.Lock()
        self.log = parent.log
        self.connection_name = parent.connection_name
        self.transaction = None
        self._finalized = False
        self._parent = parent
        self.released = False

    # A task started during the request inherits this client; once the request has given
    # the connection back, such a task uses the pool like any other.
    def acquire_connection(self) -> Any:
        if self.released:
            return self._parent.acquire_connection()
        return super().acquire_connection()

    def _in_transaction(self) -> TransactionContext:
        if self.released:
            return self._parent._in_transaction()
        return _HeldTransaction(self)


class _HeldTransaction(TransactionContext):
    """A transaction on a held connection; the request's other tasks wait until it ends."""

    def __init__(self, holder: _Held) -> None:
        self.holder = holder
        self.client = TransactionWrapper(holder)  # type: ignore[arg-type]
        self.token: Any = None

    async def __aenter__(self) -> Any:
        await self.holder._lock.acquire()
        try:
            self.token = get_connections().set(ALIAS, self.client)
            await self.client.begin()
        except BaseException:
            if self.token is not None:
                get_connections().reset(self.token)
            self.holder._lock.release()
            raise
        return self.client

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        try:
            if not self.client._finalized:
                if exc_type:
                    if exc_type is not TransactionManagementError:
                        await self.client.rollback()
                else:
                    await self.client.commit()
        finally:
            get_connections().reset(self.token)
            self.holder._lock.release()


def _root(found: Any) -> Any:
    while isinstance(found, TransactionWrapper):
        found = found._parent
    return found


_spawned: ContextVar[bool] = ContextVar("spawned", default=False)


def in_spawned_task() -> bool:
    """Whether this runs in background work started by `spawn` (or in a task it started)."""
    return _spawned.get()


def spawn(work: Coroutine[Any, Any, T], name: str | None = None) -> asyncio.Task[T]:
    """Start background work on the pool's connections: a task started inside a request or
    a transaction would otherwise inherit its connection and outlive it."""
    root = _root(get_connections().get(ALIAS))

    async def run() -> T:
        _spawned.set(True)  # the task's own context: the caller's is untouched
        token = get_connections().set(ALIAS, root)
        try:
            return await work
        finally:
            get_connections().reset(token)

    return asyncio.get_running_loop().create_task(run(), name=name)


async def _keep_session(connection: Any) -> None:
    return None


@asynccontextmanager
async def held() -> AsyncIterator[None]:
    """Run the block on ONE pooled connection (PostgreSQL): no release and reset between
    its queries, and transactions opened inside run on the same connection. A no-op on
    SQLite (one connection anyway) and inside a transaction or another held block."""
    base = get_connections().get(ALIAS)
    if not isinstance(base, AsyncpgDBClient) or isinstance(base, TransactionWrapper):
        yield
        return
    if base._pool is None:
        await base.create_connection(with_db=True)
    pool = base._pool
    assert pool is not None
    # No session state is ever set on these connections (transactions only; the jobs lease
    # has a connection of its own): giving one back needs no RESET ALL round trip.
    pool._reset = _keep_session
    async with _gate(base, pool):
        connection = await pool.acquire()
        holder = _Held(base, connection)
        token = get_connections().set(ALIAS, holder)
        try:
            yield
        finally:
            holder.released = True
            get_connections().reset(token)
            await pool.release(connection)


def _gate(client: Any, pool: Any) -> asyncio.Semaphore:
    """First come, first served for the pool's connections. asyncpg hands a released
    connection to whichever task asks next, not to the longest waiter: with more requests
    than connections, some waited seconds while the median took milliseconds (home query,
    32 clients, 5 connections: p99 6 s). A fair semaphore of the pool's size queues them."""
    found: tuple[Any, asyncio.Semaphore] | None = getattr(client, "_loyalty_gate", None)
    if found is None or found[0] is not pool:  # kept on the client: asyncpg's Pool has slots
        found = (pool, asyncio.Semaphore(pool._maxsize))
        client._loyalty_gate = found
    return found[1]
