"""A three-node Redis Cluster of a test's own: started on free local ports (redis-server
--cluster-enabled yes, then redis-cli --cluster create), stopped by process id.

`cluster_url` (a session fixture) is the cluster the suite was given in
LOYALTY_TEST_REDIS_URL (a `redis+cluster://` URL, as .ci/run gives it), else one started
here once per session; tests that need a cluster skip when redis-server is missing.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import redis as core_redis
from tests import backends


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


class Cluster:
    """Three masters, no replicas, on 127.0.0.1; `url` names the first node."""

    def __init__(self, folder: Path) -> None:
        self.ports = [cluster_port() for _ in range(3)]
        self.processes: list[subprocess.Popen[bytes]] = []
        try:
            for port in self.ports:
                node = folder / str(port)
                node.mkdir(parents=True)
                self.processes.append(
                    subprocess.Popen(
                        ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                         "--cluster-enabled", "yes",
                         "--cluster-config-file", str(node / "nodes.conf"),
                         "--save", "", "--appendonly", "no", "--dir", str(node)],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )  # fmt: skip
            for port in self.ports:
                self._wait(["redis-cli", "-p", str(port), "ping"], "PONG")
            created = subprocess.run(
                ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports),
                 "--cluster-replicas", "0", "--cluster-yes"],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            if created.returncode != 0:
                raise RuntimeError(created.stdout + created.stderr)
            for port in self.ports:  # the slots are served once every node agrees
                self._wait(["redis-cli", "-p", str(port), "cluster", "info"], "cluster_state:ok")
        except BaseException:
            self.stop()
            raise

    @staticmethod
    def _wait(command: list[str], expected: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            done = subprocess.run(command, capture_output=True, text=True)
            if expected in done.stdout:
                return
            time.sleep(0.05)
        raise RuntimeError(f"{' '.join(command)} never answered {expected!r}")

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.ports[0]}"

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            process.wait(timeout=10)


def can_start() -> bool:
    return bool(shutil.which("redis-server") and shutil.which("redis-cli"))


@pytest.fixture(scope="session")
def cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if core_redis.is_cluster(backends.TEST_REDIS_URL):
        yield backends.TEST_REDIS_URL
        return
    if not can_start():
        pytest.skip("needs redis-server and redis-cli to start a cluster")
    cluster = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield cluster.url
    finally:
        cluster.stop()
