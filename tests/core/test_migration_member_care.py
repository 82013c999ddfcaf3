"""Migrations 0002_hot_path and 0003_member_care on a database that already has members:
every member gets a state row and a valid, unique card code (run in a subprocess: the
suite's own Tortoise stays untouched)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from members import cards
from tests import backends
from tests.acceptance.conftest import ROOT

MEMBERS = 1500  # more than one backfill batch (1000)

SCRIPT = """
import asyncio, json, sys
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate
from core.db import tortoise_config

async def main(url, n):
    config = tortoise_config(url)
    await migrate(config=config, target="loyalty.0001_initial")
    rows = ", ".join(
        f"('pre-{i}', 'Khách {i}', '[]', '2026-01-01 00:00:00+00:00', 'R{i:07d}', FALSE)"
        for i in range(n)
    )
    await connections.get("default").execute_script(
        "INSERT INTO member (external_id, display_name, tags, enrolled_at, referral_code,"
        f" leaderboard_hidden) VALUES {rows}"
    )
    await Tortoise.close_connections()
    await migrate(config=config)
    found = await connections.get("default").execute_query_dict(
        "SELECT id, card_code, city, erased_at FROM member ORDER BY id"
    )
    await Tortoise.close_connections()
    print(json.dumps([[r["id"], r["card_code"], r["city"], r["erased_at"]] for r in found]))

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


async def test_existing_members_get_valid_unique_card_codes(tmp_path: Path) -> None:
    # given a database migrated to 0001 with members in it
    async with backends.database(tmp_path, "cardmig") as url:
        # when it is migrated to the latest migration
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", SCRIPT, url, str(MEMBERS)],
            cwd=str(ROOT),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        rows = json.loads(done.stdout.strip().splitlines()[-1])
    # then every member has a valid card code, no two alike, and the new columns are empty
    assert len(rows) == MEMBERS
    codes = [code for _, code, _, _ in rows]
    assert all(code is not None and cards.is_valid(code) for code in codes)
    assert len(set(codes)) == MEMBERS
    assert all(city is None and erased is None for _, _, city, erased in rows)
    # and the codes do not follow the ids
    numbers = [int(code) for code in codes]
    assert numbers != sorted(numbers)
