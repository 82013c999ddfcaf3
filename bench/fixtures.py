"""The data of the hot-path benchmark: the shop, and the million-member board.

- Shop (trackAction, recordOrder, home, trackActions, fan-out): set up through the API on
  the first server of a run: tiers MEMBER/SILVER/GOLD (0/500/2,000 tier points), the action
  type `bench.action` worth 5 points, a badge, 50 live DAILY missions on the action type
  (see missions()), 2,000 members `bench-0..1999` each holding the badge and their tokens,
  the fan-out member `fanout-0`; then every member tracks one action, so that the measured
  actions find their day's progress rows in place, as most of a day's actions do; then
  VACUUM (ANALYZE), so that autovacuum does not start on the setup's rows mid-measurement.
- Board (leaderboard): 1,000,000 members `board-1..1000000`, an AVAILABLE account and one
  ORDER posting each (1-100,000 points, 400 days old, so only the ALL_TIME window holds
  them; the program's budget topped up by the total, so the ledger still balances), all by
  INSERT ... SELECT generate_series on PostgreSQL (about 20 s); then the service's own
  `loyalty rebuild-leaderboards` fills the board from the ledger (about 10 s). The board
  then equals the database, as a startup check or a reconciliation job expects; filling
  Redis directly would be quicker but would depend on the key layout and be "repaired"
  away by such a job. The SQL names the tables and columns of today's schema: a migration
  that renames them must be followed here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import common
from bench.servers import log, run_cli

KEY = "bench.action"
TRACK = """mutation($i: TrackActionInput!) { trackAction(input: $i) {
  pointsAwarded duplicate errors { code message } } }"""
TOKEN = """mutation($e: String!) { issueMemberToken(memberExternalId: $e, ttlSeconds: 14400) {
  token } }"""


BONUS_EVERY = 5  # every 5th tracked action carries {"bonus": true}


def missions(count: int) -> list[dict[str, Any]]:
    """`count` live DAILY missions on the action type, such that an action's work does not
    depend on what its member did before (else figures would drift with the members'
    history, within a run and from a slow run to a fast one): the first counts only actions
    with the attribute {"bonus": true} and completes on each (target 1, repeatable: a reward
    credit and a notification each time), so exactly one action in BONUS_EVERY completes a
    mission; the others, COUNT and SUM alternately, move on every action towards targets no
    member reaches in a run."""
    out = [
        {
            "title": "Bench daily bonus",
            "actionType": KEY,
            "measure": "COUNT",
            "window": "DAILY",
            "target": 1,
            "filter": {"bonus": True},
            "reward": {"points": 1},
            "maxCompletions": None,
        }
    ]
    for n in range(1, count):
        out.append(
            {
                "title": f"Bench daily mission {n}",
                "actionType": KEY,
                "measure": "COUNT" if n % 2 else "SUM",
                "window": "DAILY",
                "target": 10_000 + n if n % 2 else 1_000_000 + n,
                "reward": {"points": 1 + n % 5},
                "maxCompletions": None,
            }
        )
    return out[:count]


async def _admin(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
    return await common.gql(client, query, variables, common.ADMIN, payload_errors=True)


async def tokens(client: httpx.AsyncClient, external_ids: list[str]) -> list[str]:
    """Member tokens (4 hours), 20 requests at a time."""
    out: list[str] = []
    for start in range(0, len(external_ids), 20):
        answers = await asyncio.gather(
            *(
                common.gql(client, TOKEN, {"e": e}, common.INTEGRATION)
                for e in external_ids[start : start + 20]
            )
        )
        out += [str(a["issueMemberToken"]["token"]) for a in answers]
    return out


async def vacuum(db_url: str, tables: str = "") -> None:
    """VACUUM (ANALYZE) now, rather than autovacuum in the middle of a measurement."""
    import asyncpg

    connection = await asyncpg.connect(db_url.replace("postgres://", "postgresql://", 1))
    try:
        await connection.execute(f"VACUUM (ANALYZE) {tables}")
    finally:
        await connection.close()


async def _award_badge(client: httpx.AsyncClient, external_id: str) -> None:
    await _admin(
        client,
        'mutation($e: String!) { awardBadge(memberExternalId: $e, badgeCode: "bench") '
        "{ errors { code } } }",
        {"e": external_id},
    )


async def _first_action(client: httpx.AsyncClient, external_id: str) -> None:
    action = {
        "memberExternalId": external_id,
        "type": KEY,
        "attributes": {"bonus": True},  # every mission's row of the day in place
        "idempotencyKey": f"{external_id}-1",
    }
    await common.gql(client, TRACK, {"i": action}, common.INTEGRATION, payload_errors=True)


async def _each(
    client: httpx.AsyncClient,
    external_ids: list[str],
    call: Callable[[httpx.AsyncClient, str], Awaitable[None]],
) -> None:
    """call(client, id) for every id, 20 at a time."""
    for start in range(0, len(external_ids), 20):
        await asyncio.gather(*(call(client, e) for e in external_ids[start : start + 20]))


@dataclass
class Shop:
    db_url: str
    prefix: str
    members: int
    missions: int
    tokens: list[str] = field(default_factory=list)
    fanout_token: str = ""
    ready: bool = False
    events_sent: int = 0  # fan-out events are numbered on from here


async def set_up_shop(shop: Shop, url: str) -> None:
    began = time.perf_counter()
    async with common.http_client(url, 24, timeout=60) as client:
        for code, threshold in (("MEMBER", 0), ("SILVER", 500), ("GOLD", 2000)):
            await _admin(
                client,
                "mutation($i: TierInput!) { upsertTier(input: $i) { errors { code } } }",
                {"i": {"code": code, "name": code.title(), "threshold": threshold}},
            )
        await _admin(
            client,
            "mutation($i: ActionTypeInput!) { upsertActionType(input: $i) { errors { code } } }",
            {"i": {"key": KEY, "name": "Bench action", "points": 5}},
        )
        await _admin(
            client,
            "mutation($i: BadgeInput!) { upsertBadge(input: $i) { errors { code } } }",
            {"i": {"code": "bench", "name": "Bench"}},
        )
        for mission in missions(shop.missions):
            await _admin(
                client,
                "mutation($i: MissionInput!) { createMission(input: $i) { errors { code } } }",
                {"i": mission},
            )
        await common.enrol_members(client, shop.members, prefix="bench-")
        await common.enrol_members(client, 1, prefix="fanout-")
        shop.tokens = await tokens(client, [f"bench-{n}" for n in range(shop.members)])
        [shop.fanout_token] = await tokens(client, ["fanout-0"])
        members = [f"bench-{n}" for n in range(shop.members)]
        await _each(client, members, _award_badge)
        # One action alone first (whatever is created on first use is not raced for), then
        # one for every member.
        await _each(client, members[:1], _first_action)
        await _each(client, members[1:], _first_action)
    await vacuum(shop.db_url)
    shop.ready = True
    log(
        f"shop: {shop.missions} missions, {shop.members:,} members and their tokens in "
        f"{time.perf_counter() - began:.1f} s"
    )


@dataclass
class Board:
    db_url: str
    prefix: str
    members: int
    tokens: list[str] = field(default_factory=list)
    built: bool = False

    def token_holders(self, count: int = 256) -> list[str]:
        """Members spread over the whole board: `me` and `aroundMe` land everywhere."""
        step = max(1, self.members // count)
        return [f"board-{1 + n * step}" for n in range(min(count, self.members))]


_POINTS = "1 + (id::bigint * 7919) % 100000"
BOARD_SQL = [
    (
        "members",
        """INSERT INTO member (external_id, display_name, tags, enrolled_at, referral_code,
                               leaderboard_hidden)
           SELECT 'board-' || g, 'Board Member ' || g, '[]'::jsonb,
                  now() - interval '400 days', 'B' || lpad(to_hex(g), 7, '0'), false
           FROM generate_series(1, {members}) g""",
    ),
    (
        "accounts",
        f"""INSERT INTO ledger_account (key, kind, member_id, balance)
            SELECT 'm:' || id || ':available', 'AVAILABLE', id, {_POINTS}
            FROM member WHERE external_id LIKE 'board-%'""",
    ),
    (
        "postings",
        f"""INSERT INTO ledger_posting (debit_account_id, credit_account_id, amount, reason,
                                        member_id, delta, earned, internal, created_at)
            SELECT 'issuance', 'm:' || id || ':available', {_POINTS}, 'ORDER',
                   id, {_POINTS}, {_POINTS}, false,
                   now() - interval '400 days' + make_interval(secs => id)
            FROM member WHERE external_id LIKE 'board-%'""",
    ),
    (
        "budget",  # what was issued came from the budget: top it up by as much
        """WITH issued AS (SELECT coalesce(sum(amount), 0) AS total FROM ledger_posting
                           WHERE debit_account_id = 'issuance' AND reason = 'ORDER')
           UPDATE ledger_account SET balance = balance - (SELECT total FROM issued)
           WHERE key = 'authorised'""",
    ),
]


async def build_board(board: Board, env: dict[str, str], cwd: Path) -> None:
    """The members and postings in SQL, then the board by the service's own rebuild."""
    import asyncpg

    began = time.perf_counter()
    run_cli(env, cwd, "migrate")
    # A rebuild of the empty database starts the service once, which creates the program's
    # system accounts (the issuance account the postings debit).
    run_cli(env, cwd, "rebuild-leaderboards")
    connection = await asyncpg.connect(board.db_url.replace("postgres://", "postgresql://", 1))
    try:
        for label, statement in BOARD_SQL:
            step = time.perf_counter()
            await connection.execute(statement.replace("{members}", str(board.members)))
            log(f"board: {label} in {time.perf_counter() - step:.1f} s")
    finally:
        await connection.close()
    step = time.perf_counter()
    await vacuum(board.db_url, "member, ledger_account, ledger_posting")
    log(f"board: vacuum in {time.perf_counter() - step:.1f} s")
    step = time.perf_counter()
    report = run_cli(env, cwd, "rebuild-leaderboards").splitlines()
    log(f"board: {report[-1] if report else 'rebuilt'} ({time.perf_counter() - step:.1f} s)")
    board.built = True
    log(f"board: {board.members:,} members ready in {time.perf_counter() - began:.1f} s")
