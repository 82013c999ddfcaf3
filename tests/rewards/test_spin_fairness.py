"""The provably fair derivation (rewards/spin_fairness.py), as documented in the README."""

from __future__ import annotations

import hashlib
import hmac
import random
from collections import Counter
from pathlib import Path
from typing import Any

from rewards import spin_fairness

SEED = "5f" * 32


def test_the_commitment_is_sha256_of_the_seed_text() -> None:
    # given the seed text abc
    # when its commitment is made
    # then it is its SHA-256, and new server seeds are 64 random hex digits
    assert spin_fairness.seed_hash("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    seed = spin_fairness.new_server_seed()
    assert len(seed) == 64 and int(seed, 16) >= 0
    assert spin_fairness.new_server_seed() != seed


def test_ticket_is_the_first_8_bytes_of_the_hmac_scaled_to_the_total_weight() -> None:
    # given the README's recipe written out by hand
    digest = hmac.new(SEED.encode(), b"player-seed:7", hashlib.sha256).digest()
    r = int.from_bytes(digest[:8], "big")
    # when the library computes the ticket for any total weight
    for total in (1, 2, 3, 10, 97, 1_000_000):
        # then it is the same
        assert spin_fairness.ticket(SEED, "player-seed", 7, total) == r * total // 2**64


def test_pick_walks_the_cumulative_weights() -> None:
    # given weights 5, 3 and 2
    weights = [5, 3, 2]
    # when each ticket below 10 is picked
    # then the cumulative weights decide: five, three, two
    assert [spin_fairness.pick(weights, t) for t in range(10)] == [0] * 5 + [1] * 3 + [2] * 2


def test_outcomes_follow_the_weights() -> None:
    # given many nonces
    # when each is drawn on weights 6, 3 and 1
    counts = Counter(spin_fairness.outcome(SEED, "c", n, [6, 3, 1]) for n in range(20_000))
    # then the draws land on each segment in proportion to its weight
    assert abs(counts[0] / 20_000 - 0.6) < 0.02
    assert abs(counts[1] / 20_000 - 0.3) < 0.02
    assert abs(counts[2] / 20_000 - 0.1) < 0.02


def test_verify_accepts_the_truth_and_refuses_a_swapped_seed_or_outcome() -> None:
    # given a spin's seed, the hash shown before it, and its outcome
    weights = [50, 30, 20]
    shown = spin_fairness.seed_hash(SEED)
    index = spin_fairness.outcome(SEED, "client", 3, weights)
    # when it is verified with the truth
    ok = spin_fairness.verify(
        server_seed=SEED,
        client_seed="client",
        nonce=3,
        weights=weights,
        seed_hash_shown=shown,
        claimed_index=index,
    )
    # then it checks out
    assert ok.ok and ok.index == index
    # and with another seed, the hash does not match
    other_seed = spin_fairness.verify(
        server_seed="00" * 32,
        client_seed="client",
        nonce=3,
        weights=weights,
        seed_hash_shown=shown,
    )
    assert not other_seed.ok and not other_seed.hash_matches
    # and with another outcome, the outcome does not
    wrong = spin_fairness.verify(
        server_seed=SEED,
        client_seed="client",
        nonce=3,
        weights=weights,
        seed_hash_shown=shown,
        claimed_index=(index + 1) % 3,
    )
    assert not wrong.ok and wrong.hash_matches


def test_the_readme_recipe_agrees_with_the_library() -> None:
    # given the Python recipe printed in README, "Provably fair spins"
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Provably fair spins", 1)[1]
    recipe = section.split("```python", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(recipe, namespace)
    # when it runs for any seeds, nonces and weights
    rng = random.Random(7)
    for _ in range(300):
        seed = spin_fairness.new_server_seed()
        weights = [rng.randint(1, 1000) for _ in range(rng.randint(1, 8))]
        client, nonce = f"c{rng.random()}", rng.randint(0, 10_000)
        # then it picks the same winner as the server
        assert namespace["winner"](seed, client, nonce, weights) == spin_fairness.outcome(
            seed, client, nonce, weights
        )
