"""The jobs lease: the one process that runs the time-driven jobs is the one holding it.

The lease lives with the data the jobs change, so it works without Redis and needs no
expiry to tune:
- PostgreSQL: a session advisory lock, on a connection of the lease's own. The server
  releases it when that session ends (the holder exited, crashed or lost its connection).
- SQLite: an exclusive flock on a file beside the database file (a SQLite database lives
  on one machine). The kernel releases it when the holder's process ends.
A holder keeps the lease until it stops; the others try again on every tick and take over
within one interval of its end. `holder()` names the holder (host:pid) for messages.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
from pathlib import Path
from typing import Protocol

import asyncpg

from core.db import backend_of
from server.preflight import CONNECT_TIMEOUT, postgres_arguments, reason, sqlite_path

log = logging.getLogger("loyalty.jobs")

# "LOYALTY" read as a number: the advisory lock key of the jobs, one per database.
ADVISORY_KEY = 0x4C4F59414C5459
APPLICATION = "loyalty-jobs"


def identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Lease(Protocol):
    name: str

    async def hold(self) -> bool:
        """Take the lease if it is free, or confirm it is still ours; False otherwise."""
        ...

    async def release(self) -> None: ...

    async def holder(self) -> str | None:
        """Who holds the lease now (host:pid), None when nobody does."""
        ...


class PostgresLease:
    def __init__(self, url: str, name: str | None = None) -> None:
        self.url = url
        self.name = name or identity()
        self._conn: asyncpg.Connection | None = None
        self._held = False

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._held = False
            self._conn = await asyncpg.connect(
                **postgres_arguments(self.url),
                timeout=CONNECT_TIMEOUT,
                server_settings={"application_name": f"{APPLICATION} {self.name}"},
            )
        return self._conn

    async def hold(self) -> bool:
        try:
            conn = await self._connection()
            if self._held:
                # The lock is the session's: while the session answers, it is still ours.
                await conn.fetchval("SELECT 1")
            else:
                self._held = bool(
                    await conn.fetchval("SELECT pg_try_advisory_lock($1)", ADVISORY_KEY)
                )
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            if self._held:
                log.warning("jobs: lost the jobs lease with the database (%s)", reason(exc))
            await self._close()
            return False
        return self._held

    async def release(self) -> None:
        await self._close()  # ending the session releases the lock

    async def _close(self) -> None:
        conn, self._conn, self._held = self._conn, None, False
        if conn is not None and not conn.is_closed():
            try:
                await conn.close(timeout=CONNECT_TIMEOUT)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                conn.terminate()

    async def holder(self) -> str | None:
        conn = await self._connection()
        name = await conn.fetchval(
            """
            SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted
              AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 1
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """,
            ADVISORY_KEY >> 32,
            ADVISORY_KEY & 0xFFFFFFFF,
        )
        return str(name).removeprefix(APPLICATION).strip() if name else None


class FileLease:
    def __init__(self, path: Path, name: str | None = None) -> None:
        self.path = path
        self.name = name or identity()
        self._fd: int | None = None

    async def hold(self) -> bool:
        if self._fd is not None:
            return True
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            log.warning("jobs: cannot open the lease file %s (%s)", self.path, reason(exc))
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.pwrite(fd, self.name.encode(), 0)
        self._fd = fd
        return True

    async def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.ftruncate(fd, 0)
            os.close(fd)  # closing the last descriptor releases the flock

    async def holder(self) -> str | None:
        if self._fd is not None:
            return self.name
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return os.pread(fd, 256, 0).decode(errors="replace").strip() or "unknown"
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)


class ProcessLease:
    """An in-memory SQLite database is this process's alone: so are its jobs."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or identity()

    async def hold(self) -> bool:
        return True

    async def release(self) -> None:
        return None

    async def holder(self) -> str | None:
        return self.name


def for_database(url: str) -> Lease:
    if backend_of(url) == "postgres":
        return PostgresLease(url)
    path = sqlite_path(url)
    if path is None:
        return ProcessLease()
    return FileLease(path.with_name(path.name + ".jobs-lease"))
