"""The processes the hot-path benchmark starts: the service with N workers, its CLI, and the
baseline apps; each in its own session so that stopping it stops its workers too.

The service is `loyalty serve --workers N` when its CLI has that option (issue 11, item 1),
with LOYALTY_WORKERS=N set as well; before that, one worker is plain `loyalty serve` and
N > 1 workers are bench/serve.py (uvicorn's own workers=N around server.app.create_app).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import httpx

from bench import common


def log(message: str) -> None:
    """Progress goes to stderr; stdout is kept for the table."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Process:
    """A server this benchmark started and answers /health."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                # The group is the one start() made for this process: it and its workers.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start(
    name: str, command: list[str], env: dict[str, str], port: int, log_dir: Path, timeout: float
) -> Process:
    """Start command (logging to log_dir/name.log) and wait until /health answers 200."""
    path = log_dir / f"{name}.log"
    with path.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=str(log_dir),
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Process(name, f"http://127.0.0.1:{port}", process, path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited ({process.returncode}):\n{server.tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(server.url + "/health", timeout=2).status_code == 200:
                return server
        time.sleep(0.25)
    server.stop()
    raise RuntimeError(f"{name} did not answer /health within {timeout:.0f} s:\n{server.tail()}")


@contextlib.contextmanager
def running(
    name: str, command: list[str], env: dict[str, str], port: int, log_dir: Path, timeout: float
) -> Iterator[Process]:
    server = start(name, command, env, port, log_dir, timeout)
    try:
        yield server
    finally:
        server.stop()


def loyalty(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "server.cli", *arguments]


@cache
def native_workers() -> bool:
    """Whether `loyalty serve` takes --workers."""
    done = subprocess.run(
        loyalty("serve", "--help"),
        capture_output=True,
        text=True,
        cwd=str(common.ROOT),
        env=os.environ | {"PYTHONPATH": str(common.ROOT)},
        check=False,
    )
    return "--workers" in done.stdout


def serve_command(workers: int) -> list[str]:
    if native_workers():
        return loyalty("serve", "--no-migrate", "--workers", str(workers))
    if workers == 1:
        return loyalty("serve", "--no-migrate")
    return [sys.executable, "-m", "bench.serve", "--workers", str(workers)]


def how_workers_run() -> str:
    if native_workers():
        return "`loyalty serve --workers N`"
    return (
        "`loyalty serve` for 1, bench/serve.py (uvicorn workers=N around create_app) for 2+: "
        "the service has no --workers yet"
    )


def service(
    name: str, env: dict[str, str], workers: int, log_dir: Path, timeout: float
) -> contextlib.AbstractContextManager[Process]:
    """The service with `workers` processes on a free port (env: common.service_env)."""
    port = common.free_port()
    env = env | {"LOYALTY_PORT": str(port), "LOYALTY_WORKERS": str(workers)}
    return running(name, serve_command(workers), env, port, log_dir, timeout)


def run_cli(env: dict[str, str], cwd: Path, *arguments: str, timeout: float = 900) -> str:
    """One `loyalty` command to completion; its output, or an error with it."""
    done = subprocess.run(
        loyalty(*arguments),
        env=env,
        cwd=str(cwd),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"loyalty {' '.join(arguments)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip()
