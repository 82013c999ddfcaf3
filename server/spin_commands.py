"""`loyalty verify-spin`: re-check a spin with the provably fair derivation.

Either give the revealed values (`--server-seed --client-seed --nonce --weights [--hash]`)
and it prints the winning index, or give `--result ID` and it re-checks a stored spin:
its seed against the hash, and its segment against the draw it recorded.
"""

from __future__ import annotations

import argparse

from core.settings import Settings
from rewards import spin_fairness
from rewards.spin_wheel.models import SpinResult


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--result", type=int, help="id of a stored spin result to re-check")
    parser.add_argument("--server-seed", help="the revealed serverSeed")
    parser.add_argument("--client-seed", help="the clientSeed sent with the spin")
    parser.add_argument("--nonce", type=int, help="the spin's nonce")
    parser.add_argument(
        "--weights", help="weights of the in-stock segments in wheel order, e.g. 50,30,20"
    )
    parser.add_argument("--hash", help="nextSeedHash shown before the spin")
    parser.add_argument("--index", type=int, help="the winning index the server claimed")


def check(args: argparse.Namespace) -> tuple[bool, str]:
    """Verify the values given on the command line; returns (ok, report)."""
    missing = [
        f"--{n.replace('_', '-')}"
        for n in ("server_seed", "client_seed", "nonce", "weights")
        if getattr(args, n) is None
    ]
    if missing:
        return False, f"missing {', '.join(missing)} (or give --result)"
    try:
        weights = [int(w) for w in args.weights.split(",")]
    except ValueError:
        return False, "--weights must be integers separated by commas"
    if not weights or min(weights) <= 0:
        return False, "--weights must be positive"
    shown = args.hash or spin_fairness.seed_hash(args.server_seed)
    verdict = spin_fairness.verify(
        server_seed=args.server_seed,
        client_seed=args.client_seed,
        nonce=args.nonce,
        weights=weights,
        seed_hash_shown=shown,
        claimed_index=args.index,
    )
    ticket = spin_fairness.ticket(args.server_seed, args.client_seed, args.nonce, sum(weights))
    report = (
        f"sha256(serverSeed) = {spin_fairness.seed_hash(args.server_seed)}\n"
        f"ticket = {ticket} of {sum(weights)}\n"
        f"winning index = {verdict.index}\n"
        + ("OK" if verdict.ok else f"MISMATCH: {verdict.reason}")
    )
    return verdict.ok, report


async def verify_spin(args: argparse.Namespace, settings: Settings) -> int:
    if args.result is not None:
        row = await SpinResult.get_or_none(id=args.result)
        if row is None:
            print(f"no spin result {args.result}")
            return 1
        ids = [segment_id for segment_id, _ in row.draw]
        args.server_seed, args.client_seed, args.nonce = row.server_seed, row.client_seed, row.nonce
        args.weights = ",".join(str(weight) for _, weight in row.draw)
        args.hash = args.hash or row.server_seed_hash
        args.index = ids.index(row.segment_id)
    ok, report = check(args)
    print(report)
    return 0 if ok else 1
