"""Run the real `loyalty` command as a subprocess, from a directory outside the project, and
watch it: the lines of its log, the embedded Redis it started."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from tests.acceptance.conftest import free_port

# Inherited LOYALTY_* settings would leak the developer's configuration into the test.
BASE_ENV = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
# The secrets production demands, for the commands the tests run.
SECRETS = {
    "LOYALTY_SECRET_KEY": "cli-test-secret-0123456789abcdef",
    "LOYALTY_ADMIN_KEY": "adm_cli-test-admin-key-0123456789abcdef",
    "LOYALTY_INTEGRATION_KEY": "int_cli-test-integration-key-0123456789",
}
LEASE = re.compile(r"\[(\d+)\] loyalty\.jobs: this process \S+ holds the jobs lease")


def loyalty(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [sys.executable, "-m", "server.cli", *args],
            cwd=str(cwd),
            env=BASE_ENV | env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"loyalty {' '.join(args)} did not finish in {timeout} s\n"
            f"stdout: {exc.stdout!r}\nstderr: {exc.stderr!r}"
        ) from exc


@dataclass
class Process:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def gql(self, query: str, token: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.post(
            f"{self.url}/graphql", json={"query": query}, headers=headers, timeout=30
        )
        return response.json()


def serve(env: dict[str, str], cwd: Path, name: str) -> Process:
    """`loyalty serve` on a free port, once it answers /health (healthy or not)."""
    port = free_port()
    log = cwd / f"{name}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
        cwd=str(cwd),
        env=BASE_ENV | {"LOYALTY_HOST": "127.0.0.1"} | env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()}")
        try:
            httpx.get(url + "/health", timeout=5)
            return Process(url=url, process=process, log=log)
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start: {log.read_text()}")


class OwnRedis:
    """A redis-server of this test's own on a free port, stopped by its process id."""

    def __init__(self, *options: str) -> None:
        """`options`: more redis-server arguments, e.g. "--enable-debug-command", "yes"."""
        if shutil.which("redis-server") is None:
            raise AssertionError("redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                *options,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def wait_for(log: Path, pattern: re.Pattern[str], count: int, seconds: float = 60) -> list[str]:
    """The pattern's matches in the log, once there are `count` of them."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = pattern.findall(log.read_text())
        if len(found) >= count:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{pattern.pattern!r} not seen {count} time(s):\n{log.read_text()}")


def embedded_redis_in(data_dir: Path) -> list[int]:
    """redis-server processes working in data_dir (the embedded one chdirs there)."""
    found = []
    for process in psutil.process_iter(["name"]):
        try:
            if process.info["name"] == "redis-server" and Path(process.cwd()) == data_dir:
                found.append(process.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found
