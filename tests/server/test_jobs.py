"""The jobs lease: one process at a time runs the scheduled jobs, and another takes over
when it stops. Run on the suite's database: an flock beside the SQLite file, or a
PostgreSQL advisory lock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from core.settings import Settings
from server import jobs, lease
from tests import backends


@pytest_asyncio.fixture
async def leases(settings: Settings) -> AsyncIterator[list[lease.Lease]]:
    made = [lease.for_database(settings.effective_database_url) for _ in range(2)]
    for n, one in enumerate(made):
        one.name = f"test-host:{n}"
    yield made
    for one in made:
        await one.release()


async def test_one_lease_holds_until_released_then_the_other_takes_over(
    leases: list[lease.Lease],
) -> None:
    first, second = leases
    expected = lease.PostgresLease if backends.ON_POSTGRES else lease.FileLease
    assert isinstance(first, expected)
    # given the first holds the lease
    assert await first.hold()
    assert await first.hold()  # and keeps it
    # then the second cannot take it, and can say who holds it
    assert not await second.hold()
    assert await second.holder() == "test-host:0"
    # when the first releases it, the second takes it
    await first.release()
    assert await second.hold()
    assert await first.holder() == "test-host:1"
    assert not await first.hold()


@pytest.mark.skipif(not backends.ON_POSTGRES, reason="PostgreSQL only: a session's lock")
async def test_a_holder_whose_database_session_ends_loses_the_lease(
    leases: list[lease.Lease],
) -> None:
    # given two processes' leases on the database, the first holding it
    first, second = leases
    assert isinstance(first, lease.PostgresLease)
    assert await first.hold()
    # when the holder's session dies (a crash, a cut connection)
    assert first._conn is not None
    first._conn.terminate()
    # then the other process takes the lease, and the old holder knows it lost it
    assert await second.hold()
    assert not await first.hold()


@pytest.fixture
def probe_job() -> Iterator[list[tuple[str, str]]]:
    """A job that records which lease ran it, when, and whether another run overlapped."""
    calls: list[tuple[str, str]] = []
    running: list[str] = []

    async def probe() -> int:
        task = asyncio.current_task()
        name = task.get_name() if task else "?"
        running.append(name)
        calls.append(("start", name))
        if len(running) > 1:
            calls.append(("overlap", name))
        await asyncio.sleep(0.02)
        running.remove(name)
        return 1

    saved = dict(jobs.JOBS)
    jobs.JOBS.clear()
    jobs.JOBS["probe"] = jobs.Job("probe", probe)
    yield calls
    jobs.JOBS.clear()
    jobs.JOBS.update(saved)


async def test_two_job_loops_run_the_jobs_in_one_place_and_fail_over(
    leases: list[lease.Lease], probe_job: list[tuple[str, str]]
) -> None:
    # given two processes' job loops on the same database
    first = asyncio.create_task(jobs.loop(0.05, leases[0]), name="first")
    await asyncio.sleep(0.2)
    second = asyncio.create_task(jobs.loop(0.05, leases[1]), name="second")
    await asyncio.sleep(0.5)
    # then only the first ran the jobs, never two at once
    assert {name for _, name in probe_job} == {"first"}
    assert len(probe_job) >= 3
    # when the first stops, the second takes over within an interval or two
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    probe_job.clear()
    await asyncio.sleep(0.5)
    second.cancel()
    await asyncio.gather(second, return_exceptions=True)
    assert {name for _, name in probe_job} == {"second"}
    assert ("overlap", "second") not in probe_job


def test_job_results_read_as_words() -> None:
    # given the jobs table
    # when each job's result is described
    described = {
        name: jobs.JOBS[name].describe(result)
        for name, result in {
            "ledger.mature_pending": 3,
            "ledger.expire_points": 0,
            "tiers.review": {"upgraded": 2, "grace": 0, "demoted": 1},
            "points.birthdays": 1,
            "engage.reminders": None,
            "engage.rfm": 40,
            "leaderboards-catch-up": None,
        }.items()
    }
    # then it reads as words
    assert described == {
        "ledger.mature_pending": "3 members' pending points became available",
        "ledger.expire_points": "nothing to do",
        "tiers.review": "2 moved up, 1 moved down",
        "points.birthdays": "1 member got birthday points",
        "engage.reminders": "not due (every 10 min)",
        "engage.rfm": "40 members scored",
        "leaderboards-catch-up": "boards up to date",
    }
