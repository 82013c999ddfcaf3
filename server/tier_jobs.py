"""Jobs of the tiers area: the tier review and birthday points (both idempotent)."""

from __future__ import annotations

from rewards import birthdays
from rewards.tiers import service as tiers
from server.jobs import counted, job


def _tier_moves(moves: dict[str, int]) -> str:
    words = {
        "upgraded": "moved up",
        "recovered": "back above their tier",
        "grace": "entered grace",
        "demoted": "moved down",
    }
    done = [f"{n} {words.get(what, what)}" for what, n in moves.items() if n]
    return ", ".join(done) or "no member changes tier"


@job("tiers.review", _tier_moves)
async def review_tiers() -> dict[str, int]:
    return await tiers.review_tiers()


@job("points.birthdays", counted("member got birthday points", "members got birthday points"))
async def birthday_points() -> int:
    return await birthdays.safe_credit_birthdays()
