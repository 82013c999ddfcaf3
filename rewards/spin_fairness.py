"""Provably fair spins: the seed commitment and the outcome derivation, as pure functions.

The server picks a secret `server_seed` (64 lowercase hex characters) and shows
`sha256_hex(server_seed)` before the spin. The outcome of a spin is

    digest = HMAC-SHA256(key = server_seed as ASCII, msg = f"{client_seed}:{nonce}" as UTF-8)
    r      = int.from_bytes(digest[:8], "big")          # 0 <= r < 2**64
    ticket = (r * total_weight) >> 64                   # 0 <= ticket < total_weight
    winner = the first segment (in wheel order, among those in stock) whose running
             sum of weights is greater than ticket

`ticket` is floor(r * W / 2**64): each of the W tickets gets either floor(2**64 / W) or
ceil(2**64 / W) of the 2**64 values of r, so no ticket's odds differ from 1/W by more
than 1/2**64 (no modulo bias). Anyone holding the revealed seed can re-run `verify`
(or `loyalty verify-spin`) offline. See README, "Provably fair spins".
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass


def new_server_seed() -> str:
    return secrets.token_hex(32)


def seed_hash(server_seed: str) -> str:
    """The commitment shown before a spin: SHA-256 hex of the seed's ASCII text."""
    return hashlib.sha256(server_seed.encode("ascii")).hexdigest()


def ticket(server_seed: str, client_seed: str, nonce: int, total_weight: int) -> int:
    """The winning ticket in [0, total_weight)."""
    if total_weight <= 0:
        raise ValueError("total weight must be positive")
    message = f"{client_seed}:{nonce}".encode()
    digest = hmac.new(server_seed.encode("ascii"), message, hashlib.sha256).digest()
    r = int.from_bytes(digest[:8], "big")
    return (r * total_weight) >> 64


def pick(weights: Sequence[int], ticket_value: int) -> int:
    """Index of the segment whose cumulative weight range holds the ticket."""
    running = 0
    for index, weight in enumerate(weights):
        running += weight
        if ticket_value < running:
            return index
    raise ValueError("ticket beyond the total weight")


def outcome(server_seed: str, client_seed: str, nonce: int, weights: Sequence[int]) -> int:
    """Index (into `weights`, the in-stock segments in wheel order) of the winner."""
    return pick(weights, ticket(server_seed, client_seed, nonce, sum(weights)))


@dataclass(frozen=True)
class Verdict:
    ok: bool
    hash_matches: bool
    index: int
    """Index of the winning segment among the given weights."""
    reason: str = ""


def verify(
    *,
    server_seed: str,
    client_seed: str,
    nonce: int,
    weights: Sequence[int],
    seed_hash_shown: str,
    claimed_index: int | None = None,
) -> Verdict:
    """Re-check a spin: the revealed seed matches the hash shown before the spin, and the
    derivation lands on `claimed_index` (when given)."""
    hash_ok = hmac.compare_digest(seed_hash(server_seed), seed_hash_shown.lower())
    index = outcome(server_seed, client_seed, nonce, weights)
    if not hash_ok:
        return Verdict(False, False, index, "SHA-256 of the server seed differs from the hash")
    if claimed_index is not None and index != claimed_index:
        return Verdict(False, True, index, f"derivation gives segment {index}, not {claimed_index}")
    return Verdict(True, True, index)
