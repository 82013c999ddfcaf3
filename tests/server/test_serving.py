"""`loyalty serve --workers 2` for real: both processes answer on the one port, the jobs run
in one of them at a time (another takes over when it dies), one embedded Redis serves them
all, and SIGTERM stops every process."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest_asyncio

from tests import backends
from tests.acceptance.conftest import free_port
from tests.server.processes import BASE_ENV, LEASE, SECRETS, embedded_redis_in, wait_for

STARTED = re.compile(r"Started server process \[(\d+)\]")
ACCESS = re.compile(r"\[(\d+)\] access: .*GET /health")


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest_asyncio.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    async with backends.database(tmp_path, "workers") as url:
        yield url


def test_two_workers_answer_run_jobs_in_one_process_and_stop_together(
    tmp_path: Path, database_url: str
) -> None:
    data_dir = (tmp_path / "data").resolve()
    data_dir.mkdir()
    db_url = database_url
    env = SECRETS | {
        "LOYALTY_DATA_DIR": str(data_dir),
        "LOYALTY_DATABASE_URL": db_url,
        "LOYALTY_JOBS_INTERVAL_SECONDS": "0.5",
    }
    if backends.TEST_REDIS_URL:
        env |= {
            "LOYALTY_REDIS_URL": backends.TEST_REDIS_URL,
            "LOYALTY_REDIS_PREFIX": backends.redis_prefix(),
        }
    port = free_port()
    log = tmp_path / "workers.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--workers", "2"],
        cwd=str(tmp_path),
        env=BASE_ENV | {"LOYALTY_HOST": "127.0.0.1"} | env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    workers: list[int] = []
    try:
        # given the server announced itself with two workers
        wait_for(log, re.compile(r"serving GraphQL at .* \(2 worker processes\)"), 1)
        workers = [int(pid) for pid in STARTED.findall(log.read_text())]
        assert len(workers) == 2, log.read_text()
        # then both processes answer on the one port
        url = f"http://127.0.0.1:{port}/health"
        with ThreadPoolExecutor(max_workers=10) as pool:
            for _ in range(20):
                # A new connection each: the kernel hands it to either process.
                answers = list(pool.map(lambda _: httpx.get(url, timeout=10), range(10)))
                assert all(a.status_code == 200 for a in answers)
                if {int(p) for p in ACCESS.findall(log.read_text())} == set(workers):
                    break
            assert {int(p) for p in ACCESS.findall(log.read_text())} == set(workers)
        # and one of them, only one, runs the jobs, through several intervals
        holder = int(wait_for(log, LEASE, 1)[0])
        assert holder in workers
        time.sleep(2)
        assert [int(p) for p in LEASE.findall(log.read_text())] == [holder]
        # and one embedded Redis serves both (on the embedded default)
        if not backends.TEST_REDIS_URL:
            assert len(embedded_redis_in(data_dir)) == 1
        # when the holder dies, another process takes the jobs over
        os.kill(holder, signal.SIGKILL)
        taken = [int(p) for p in wait_for(log, LEASE, 2, seconds=30)]
        assert taken[0] == holder and taken[1] != holder
        workers = [int(pid) for pid in STARTED.findall(log.read_text())]
        # when the server is sent SIGTERM, every process stops
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        deadline = time.monotonic() + 10
        while not all(gone(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(gone(pid) for pid in workers), log.read_text()
        assert embedded_redis_in(data_dir) == []
        assert "Traceback" not in log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        for pid in workers:
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)
