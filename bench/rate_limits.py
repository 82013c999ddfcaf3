"""Does one member flooding the API slow the others? Measured over HTTP, in one run.

Starts `loyalty serve` (production mode, rate limits at their defaults) on a fresh
database, enrols members and issues their tokens, then:

1. quiet: OTHERS members each send `{ me { id pointsBalance } }` every PACE seconds
   (well under their limit) for SECONDS seconds; their latencies are recorded;
2. flood: the same, while one more member sends the same query at RATE requests per
   second from FLOOD connections (its bucket empties at once; it is then answered 429),
   from a process of its own, so its client work does not delay the measuring event loop;
   the flood has a fixed rate so that its client costs the machine the same in 2 and 3;
3. flood without limits: phase 2 against a second server started with
   LOYALTY_RATE_LIMIT_ENABLED=false, to show what the limits buy (skip: --no-unlimited).

Prints, per phase, the others' p50/p99 latency and any non-200 answers they got, the
flooder's requests per second and how many were refused with 429, and the CPU time the
server process used (from /proc): on a shared machine the latencies move with the load
of everything else (the flooder's own client included), while the server's CPU per
refused request is what the limits make small.

    .venv/bin/python -m bench.rate_limits [--others 8] [--flood 16] [--rate 150] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import common

QUERY = {"query": "{ me { id pointsBalance } }"}


@dataclass
class Phase:
    latencies: list[float] = field(default_factory=list)
    others_statuses: Counter[int] = field(default_factory=Counter)
    flood_statuses: Counter[int] = field(default_factory=Counter)
    flood_seconds: float = 0.0
    server_cpu: float = 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), 0 where unavailable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


async def other(
    client: httpx.AsyncClient, token: str, pace: float, stop: float, phase: Phase
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    next_at = time.perf_counter()
    while time.perf_counter() < stop:
        began = time.perf_counter()
        response = await client.post("/graphql", json=QUERY, headers=headers)
        phase.latencies.append(time.perf_counter() - began)
        phase.others_statuses[response.status_code] += 1
        next_at += pace
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))


async def _flood(
    url: str, token: str, connections: int, rate: float, seconds: float
) -> Counter[int]:
    headers = {"Authorization": f"Bearer {token}"}
    statuses: Counter[int] = Counter()
    stop = time.perf_counter() + seconds
    interval = connections / rate

    async def loop(client: httpx.AsyncClient) -> None:
        next_at = time.perf_counter()
        while time.perf_counter() < stop:
            response = await client.post("/graphql", json=QUERY, headers=headers)
            statuses[response.status_code] += 1
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

    async with common.http_client(url, connections) as client:
        await asyncio.gather(*(loop(client) for _ in range(connections)))
    return statuses


def flood_process(
    url: str, token: str, connections: int, rate: float, seconds: float, out: Any
) -> None:
    out.put(dict(asyncio.run(_flood(url, token, connections, rate, seconds))))


async def run_phase(
    server: common.Server,
    others: list[str],
    flood_token: str | None,
    flood: int,
    rate: float,
    seconds: float,
    pace: float,
) -> Phase:
    url = server.url
    phase = Phase()
    cpu_before = cpu_seconds(server.process.pid)
    process = None
    results: Any = None
    if flood_token is not None:
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        process = context.Process(
            target=flood_process, args=(url, flood_token, flood, rate, seconds, results)
        )
        process.start()
    stop = time.perf_counter() + seconds
    began = time.perf_counter()
    async with common.http_client(url, len(others)) as quiet:
        await asyncio.gather(*(other(quiet, token, pace, stop, phase) for token in others))
    if process is not None:
        phase.flood_statuses.update(await asyncio.to_thread(results.get, True, seconds + 60))
        process.join(timeout=30)
    phase.flood_seconds = time.perf_counter() - began
    phase.server_cpu = cpu_seconds(server.process.pid) - cpu_before
    return phase


def report(label: str, phase: Phase) -> None:
    p50 = common.percentile(phase.latencies, 50) * 1000
    p99 = common.percentile(phase.latencies, 99) * 1000
    others = dict(sorted(phase.others_statuses.items()))
    line = (
        f"{label:28s} others: {len(phase.latencies):5d} req  p50 {p50:6.1f} ms  "
        f"p99 {p99:6.1f} ms  statuses {others}\n"
        f"{'':28s} server CPU: {phase.server_cpu:5.2f} s in {phase.flood_seconds:.1f} s"
    )
    flood_total = sum(phase.flood_statuses.values())
    if flood_total:
        rate = flood_total / phase.flood_seconds
        refused = phase.flood_statuses.get(429, 0)
        line += f"\n{'':28s} flooder: {flood_total:5d} req ({rate:.0f}/s), {refused} answered 429"
    print(line, flush=True)


async def tokens(url: str, count: int) -> list[str]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await common.enrol_members(client, count, prefix="rl-")
        return [await common.member_token(client, f"rl-{n}") for n in range(count)]


async def main(
    others: int, flood: int, rate: float, seconds: float, pace: float, unlimited: bool
) -> None:
    common.print_machine()
    print(
        f"{others} members at one request per {pace:.2f} s each, {seconds:.0f} s per phase; "
        f"flooder: {rate:.0f} req/s from {flood} connections; cores: {os.cpu_count()}",
        flush=True,
    )
    async with common.fresh_server(
        "rate-limits", production=True, jobs=False, rate_limits=True
    ) as server:
        print(f"backend: {common.backend(server.db_url)}; rate limits: defaults", flush=True)
        member_tokens = await tokens(server.url, others + 1)
        quiet = member_tokens[:others]
        await run_phase(server, quiet, None, flood, rate, 2.0, pace)  # warm up
        report("1. quiet", await run_phase(server, quiet, None, flood, rate, seconds, pace))
        report(
            "2. one member flooding",
            await run_phase(server, quiet, member_tokens[-1], flood, rate, seconds, pace),
        )
    if unlimited:
        async with common.fresh_server(
            "rate-limits-off", production=True, jobs=False, rate_limits=False
        ) as server:
            member_tokens = await tokens(server.url, others + 1)
            quiet = member_tokens[:others]
            await run_phase(server, quiet, None, flood, rate, 2.0, pace)
            report(
                "3. flooding, limits off",
                await run_phase(server, quiet, member_tokens[-1], flood, rate, seconds, pace),
            )
    common.print_load_after()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--others", type=int, default=8)
    parser.add_argument("--flood", type=int, default=16)
    parser.add_argument("--rate", type=float, default=150.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--pace", type=float, default=0.2)
    parser.add_argument("--no-unlimited", dest="unlimited", action="store_false")
    args = parser.parse_args()
    asyncio.run(main(args.others, args.flood, args.rate, args.seconds, args.pace, args.unlimited))
