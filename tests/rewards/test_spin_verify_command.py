"""`loyalty verify-spin` re-checks stored and hand-entered spins."""

from __future__ import annotations

import argparse

import pytest

from core.settings import Settings
from rewards import spin_fairness
from rewards.spin_wheel import service as spins
from server.spin_commands import arguments, verify_spin
from tests.rewards.factories import member_with, segment, wheel


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    arguments(parser)
    return parser.parse_args(list(argv))


async def test_a_stored_spin_rechecks(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a spin on a three-segment wheel
    w = await wheel([segment("A", 5), segment("B", 3, points=5), segment("C", 2, points=50)])
    member = await member_with(0)
    spun = await spins.spin(member.id, w.id, "client")
    # when the command re-checks it by id
    code = await verify_spin(parse("--result", str(spun.result.id)), settings)
    # then it agrees with the stored outcome
    assert code == 0
    assert capsys.readouterr().out.strip().endswith("OK")


async def test_hand_entered_values_and_a_wrong_hash(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a spin's values entered by hand
    seed = "ab" * 32
    index = spin_fairness.outcome(seed, "me", 4, [1, 1, 1])
    values = ["--server-seed", seed, "--client-seed", "me", "--nonce", "4", "--weights", "1,1,1"]
    # when `loyalty verify-spin` checks them with the right hash and index
    good = [*values, "--hash", spin_fairness.seed_hash(seed), "--index", str(index)]
    # then it succeeds, naming the winning index
    assert await verify_spin(parse(*good), settings) == 0
    assert f"winning index = {index}" in capsys.readouterr().out
    # and with a wrong hash or index it fails, saying so
    bad = [*values, "--hash", "00" * 32]
    assert await verify_spin(parse(*bad), settings) == 1
    assert "MISMATCH" in capsys.readouterr().out
    wrong_index = [*values, "--index", str((index + 1) % 3)]
    assert await verify_spin(parse(*wrong_index), settings) == 1
