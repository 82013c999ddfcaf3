"""A write PostgreSQL aborts as a deadlock victim is run again, and both writes land."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from core.events import unit_of_work
from rewards import member_state
from rewards.ledger import accounts
from rewards.ledger.retry import retryable, retrying
from tests import backends, factories

pytestmark = pytest.mark.skipif(not backends.ON_POSTGRES, reason="needs PostgreSQL's row locks")


async def test_a_deadlock_victim_is_retried_and_both_writes_commit() -> None:
    # given two members' accounts
    a, b = await factories.member(), await factories.member()
    await member_state.create(a.id)
    await member_state.create(b.id)
    both_hold_one = asyncio.Barrier(2)
    attempts: list[str] = []

    def crossing(first: str, second: str) -> Callable[[], Awaitable[None]]:
        async def write() -> None:
            attempts.append(first)
            async with unit_of_work():
                await accounts.add(first, 1)
                if len(attempts) <= 2:  # the first two attempts: make the lock cycle certain
                    await asyncio.wait_for(both_hold_one.wait(), 5)
                await accounts.add(second, 1)

        return write

    # when each takes one row and then wants the other's
    await asyncio.gather(
        retrying(crossing(accounts.available(a.id), accounts.available(b.id))),
        retrying(crossing(accounts.available(b.id), accounts.available(a.id))),
    )
    # then PostgreSQL aborted one, it ran again, and both increments are there
    assert len(attempts) == 3
    assert await accounts.balance(accounts.available(a.id)) == 2
    assert await accounts.balance(accounts.available(b.id)) == 2


async def test_without_the_retry_the_victim_fails_with_deadlock_detected() -> None:
    # given two members' accounts
    a, b = await factories.member(), await factories.member()
    await member_state.create(a.id)
    await member_state.create(b.id)
    both_hold_one = asyncio.Barrier(2)

    # and two writes, each taking one row and then wanting the other's, without the retry
    async def write(first: str, second: str) -> None:
        async with unit_of_work():
            await accounts.add(first, 1)
            await asyncio.wait_for(both_hold_one.wait(), 5)
            await accounts.add(second, 1)

    # when they run at once
    results = await asyncio.gather(
        write(accounts.available(a.id), accounts.available(b.id)),
        write(accounts.available(b.id), accounts.available(a.id)),
        return_exceptions=True,
    )
    # then PostgreSQL aborts one as a deadlock victim, a retryable error
    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(failures) == 1 and retryable(failures[0])
