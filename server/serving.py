"""How `loyalty serve` runs uvicorn: one server in this process, or N worker processes
sharing one socket under uvicorn's supervisor.

The caller binds the socket and checks the database and Redis first; `ready` is called
once every process has finished its startup, so the banner never promises a server that
is not there. SIGTERM or SIGINT stops every process (each finishes its requests, within
GRACE seconds, and releases the jobs lease).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess

from core.settings import Settings
from server import logs
from server.app import create_app

GRACE = 10  # seconds open requests and sockets get to finish on shutdown
STARTUP_TIMEOUT = 120.0

Ready = Callable[[Settings, int], None]


def _config(settings: Settings, app: object, workers: int) -> uvicorn.Config:
    level = "warning" if settings.production else "info"
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        factory=isinstance(app, str),
        workers=workers,
        log_config=logs.config("INFO"),
        log_level=level,
        ws_per_message_deflate=False,  # deflate triples memory per socket; payloads are small
        ws_max_size=settings.max_body_bytes,  # the HTTP body cap holds for socket messages too
        lifespan="on",
        timeout_graceful_shutdown=GRACE,
    )


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit:
            self._ready()


class _Supervisor(Multiprocess):
    def __init__(
        self, config: uvicorn.Config, sockets: list[socket.socket], ready: Callable[[], None]
    ) -> None:
        super().__init__(config, sockets)
        self._ready = ready

    def init_processes(self) -> None:
        super().init_processes()
        waiting = list(self.processes)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while waiting:
            self.handle_signals()  # a SIGTERM during startup stops us at once
            if self.should_exit.is_set() or time.monotonic() > deadline:
                return
            if any(not p.process.is_alive() for p in waiting):
                return  # the supervisor's loop sees the failed start and stops
            waiting = [p for p in waiting if not p.is_ready(timeout=0.5)]
        self._ready()


def run(settings: Settings, sock: socket.socket, redis_url: str, ready: Ready) -> int:
    """Serve on `sock` until stopped; the exit status."""
    workers = settings.effective_workers
    if workers == 1:
        server = _Server(_config(settings, create_app(settings), 1), lambda: ready(settings, 1))
        server.run(sockets=[sock])
        return 0
    # Workers build their app from the environment: hand them the Redis this process
    # chose (one embedded server for all of them, never one each).
    os.environ["LOYALTY_REDIS_URL"] = redis_url
    supervisor = _Supervisor(
        _config(settings, "server.app:create_app", workers),
        [sock],
        lambda: ready(settings, workers),
    )
    supervisor.run()
    return 1 if any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes) else 0
