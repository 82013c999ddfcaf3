"""CPU time per request, by who spent it: the service, PostgreSQL, Redis, the load generator.

Read from /proc before and after a measured run (Linux), so each figure says which part of
the machine bounds it: on a shared machine a request's CPU is what it costs, whatever else
runs. The service is the process given and its descendants (its workers); PostgreSQL the
backends serving the measured database (their process titles name it), so other databases'
clients on the same server do not count; the server's shared processes (WAL writer,
checkpointer) do not count either.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Sample:
    """Seconds of CPU (user + system) so far, per part."""

    parts: dict[str, float]

    def per_request(self, later: Sample, requests: int) -> dict[str, float]:
        """Milliseconds per request of each part between this sample and `later`."""
        if requests <= 0:
            return {}
        return {
            name: (later.parts.get(name, 0.0) - self.parts.get(name, 0.0)) * 1000 / requests
            for name in later.parts
        }


def _stat(pid: str) -> tuple[str, int, float] | None:
    """(command, parent pid, CPU seconds of the process: user + system)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    # fields[1] is ppid; utime, stime at 11, 12 (0-based after the name)
    return name, int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def _title(pid: str) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def sample(service_pid: int | None, database: str | None = None) -> Sample:
    """CPU so far of the service (`service_pid` and descendants), the PostgreSQL backends
    of `database` (every postgres process when None) and Redis."""
    stats = {pid: s for pid in os.listdir("/proc") if pid.isdigit() and (s := _stat(pid))}
    service: set[int] = set()
    if service_pid is not None:
        service.add(service_pid)
        grew = True
        while grew:  # the service's workers (children of children, with uvicorn's supervisor)
            grew = False
            for pid, (_, parent, _) in stats.items():
                if parent in service and int(pid) not in service:
                    service.add(int(pid))
                    grew = True
    parts = {"service": 0.0, "postgres": 0.0, "redis": 0.0}
    for pid, (name, _, seconds) in stats.items():
        if int(pid) in service:
            parts["service"] += seconds
        elif name == "postgres":
            if database is None or f" {database} " in _title(pid):
                parts["postgres"] += seconds
        elif name.startswith("redis-server"):
            parts["redis"] += seconds
    return Sample(parts)


def describe(per_request: dict[str, float]) -> str:
    """'3.10 / 1.90 / 0.10': ms of CPU per request of the service, PostgreSQL and Redis."""
    if not per_request:
        return ""
    return " / ".join(
        f"{max(per_request.get(k, 0.0), 0.0):.2f}" for k in ("service", "postgres", "redis")
    )
