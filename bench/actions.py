"""Benchmark: trackAction through the real GraphQL endpoint with 50 active missions.

Starts `loyalty serve` as a subprocess on a fresh database, defines an action type worth
points and 50 active missions on it (COUNT, SUM and STREAK_DAYS, every window, some with
rewards that complete during the run) plus a stamp card, enrols members, then several
concurrent clients track actions over HTTP. Each trackAction moves all 50 missions: one
database transaction and one Redis round trip after commit. Prints actions per second and
p50/p99 latency.

    python -m bench.actions                      # SQLite + embedded Redis (the default run)
    LOYALTY_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    LOYALTY_BENCH_REDIS_URL=redis://127.0.0.1:6379/0 python -m bench.actions
                                                 # PostgreSQL (a database is created and dropped)
Options: --actions N (default 2000), --clients N (8), --members N (200), --missions N (50).
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

from bench import common

ADMIN = common.ADMIN
TYPE = """mutation($i: ActionTypeInput!) { upsertActionType(input: $i) { errors { code } } }"""
BADGE = """mutation($i: BadgeInput!) { upsertBadge(input: $i) { errors { code } } }"""
MISSION = """mutation($i: MissionInput!) { createMission(input: $i) { errors { code message } } }"""
CARD = """mutation($i: StampCardInput!) { createStampCard(input: $i) { errors { code } } }"""
TRACK = """mutation($i: TrackActionInput!) { trackAction(input: $i) {
  pointsAwarded missions { progress } errors { code message } } }"""
KEY = "bench.action"


async def _gql(client: Any, query: str, variables: dict[str, Any], key: str) -> Any:
    return await common.gql(client, query, variables, key, payload_errors=True)


def _missions(count: int) -> list[dict[str, Any]]:
    """A mix of every measure and window; a few complete (and reward) during the run."""
    shapes = [
        ("COUNT", "ONCE", 10**6, {"points": 1}),
        ("COUNT", "DAILY", 5, {"points": 2}),
        ("SUM", "WEEKLY", 10**7, {"points": 3}),
        ("SUM", "MONTHLY", 40, {"points": 4, "badgeCode": "bench"}),
        ("STREAK_DAYS", "ONCE", 7, {"points": 5}),
    ]
    out = []
    for n in range(count):
        measure, window, target, reward = shapes[n % len(shapes)]
        out.append(
            {
                "title": f"Bench mission {n}",
                "actionType": KEY,
                "measure": measure,
                "window": window,
                "target": target,
                "reward": reward,
                "maxCompletions": None,
            }
        )
    return out


async def _run(url: str, actions: int, clients: int, members: int, missions: int) -> dict[str, Any]:
    async with common.http_client(url, clients) as client:
        await _gql(client, TYPE, {"i": {"key": KEY, "name": "Bench", "points": 5}}, ADMIN)
        await _gql(client, BADGE, {"i": {"code": "bench", "name": "Bench"}}, ADMIN)
        for definition in _missions(missions):
            await _gql(client, MISSION, {"i": definition}, ADMIN)
        card = {
            "name": "Bench card",
            "actionType": KEY,
            "slots": 10,
            "prestamped": 2,
            "reward": {"points": 10},
        }
        await _gql(client, CARD, {"i": card}, ADMIN)
        await common.enrol_members(client, members)
        # One action first, alone: the ledger creates the program's accounts on first use.
        warm = {"memberExternalId": "bench-0", "type": KEY, "idempotencyKey": "bench-warm-up"}
        await _gql(client, TRACK, {"i": warm}, common.INTEGRATION)

        async def track(n: int) -> int:
            action = {
                "memberExternalId": f"bench-{n % members}",
                "type": KEY,
                "value": 1 + n % 5,
                "idempotencyKey": f"bench-{n}",
            }
            data = await _gql(client, TRACK, {"i": action}, common.INTEGRATION)
            return len(data["trackAction"]["missions"])

        load = await common.run_load(track, clients=clients, count=actions)
        listed = await _gql(client, "{ missions { completions } }", {}, ADMIN)
    completions = sum(m["completions"] for m in listed["missions"])
    return {
        "load": load,
        "moved_avg": sum(load.results) / len(load.results),
        "completions": completions,
    }


async def main(args: argparse.Namespace) -> None:
    common.print_machine()
    async with common.fresh_server("actions") as server:
        result = await _run(server.url, args.actions, args.clients, args.members, args.missions)
    load = result["load"]
    print(
        f"actions: trackAction over HTTP, {common.backend(server.db_url)}, {args.missions} active "
        f"missions, {args.clients} clients, {args.members} members, {args.actions} actions in "
        f"{load.elapsed:.1f}s ({os.cpu_count()} cores)"
    )
    print(f"  actions/s: {load.per_second:.0f}")
    print(load.line())
    print(
        f"  missions moved per action: {result['moved_avg']:.1f}, "
        f"mission completions (each rewarded): {result['completions']}"
    )
    common.print_load_after()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--actions", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--missions", type=int, default=50)
    asyncio.run(main(parser.parse_args()))
