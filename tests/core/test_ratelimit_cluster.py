"""The rate-limit script runs on Redis Cluster: both buckets of a caller share a hash tag,
so the one script touching both lands on one slot (no CROSSSLOT). A three-node cluster is
started on free local ports for this test and stopped by process id."""

from __future__ import annotations

import asyncio
import random
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio.cluster import RedisCluster

from core import ratelimit

pytestmark = pytest.mark.skipif(
    not (shutil.which("redis-server") and shutil.which("redis-cli")),
    reason="needs redis-server and redis-cli to start a cluster",
)


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free and valid too."""
    while True:
        port = random.randint(20000, 50000)
        if _free(port) and _free(port + 10000):
            return port


@pytest.fixture
def cluster_ports(tmp_path: Path) -> Iterator[list[int]]:
    ports = [cluster_port() for _ in range(3)]
    processes = []
    for port in ports:
        folder = tmp_path / str(port)
        folder.mkdir()
        processes.append(
            subprocess.Popen(
                [
                    "redis-server",
                    "--port", str(port),
                    "--bind", "127.0.0.1",
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", str(folder / "nodes.conf"),
                    "--save", "",
                    "--appendonly", "no",
                    "--dir", str(folder),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )  # fmt: skip
    try:
        for port in ports:
            for _ in range(100):
                ping = subprocess.run(
                    ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True
                )
                if ping.stdout.strip() == "PONG":
                    break
                time.sleep(0.05)
        created = subprocess.run(
            ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports),
             "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert created.returncode == 0, created.stdout + created.stderr
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


@pytest.fixture
async def cluster(cluster_ports: list[int]) -> AsyncIterator[RedisCluster]:
    client = RedisCluster(host="127.0.0.1", port=cluster_ports[0], decode_responses=True)
    for _ in range(100):  # the slots are assigned once the nodes agree
        try:
            if (await client.cluster_info()).get("cluster_state") == "ok":
                break
        except Exception:
            pass
        await asyncio.sleep(0.1)
    try:
        yield client
    finally:
        await client.aclose()


async def test_the_script_takes_from_both_buckets_on_a_cluster(cluster: RedisCluster) -> None:
    script = cluster.register_script(ratelimit._TAKE)
    keys = [ratelimit.bucket_key("member:7", "req"), ratelimit.bucket_key("member:7", "strict")]
    now = 1_000_000
    # burst 2 in the strict bucket: two pass, the third waits 1 / 0.5 = 2 s
    answers = [await script(keys=keys, args=[now, 10, 40, 0.5, 2]) for _ in range(3)]
    assert answers == [0, 0, 2000]
    assert float(await cluster.hget(keys[0], "t")) == 38  # refused took nothing
