"""What a member must still earn, and by when, to keep their tier (Member.tierStatus).

Built on tiers/service.py's rules and public functions only (statuses() for the tier held
and its grace, window_start() for the counted window): the tier is next reviewed

- at the end of grace, while the member is below their tier's threshold (if the review job
  has not started the grace yet, it will on its next run: now + tierGraceDays);
- otherwise, with a ROLLING_YEAR window, when the window next moves past points: the
  oldest counted tier points leave it 365 days after they were earned;
- never, with a LIFETIME window and the threshold met (points never leave), or in the
  starting tier (threshold 0), which nobody loses.

At that moment the member keeps the tier if the points still counted then reach its
threshold. `points_to_keep` is what is missing (0 when safe), `at_risk` says it is above 0.
Points earned from now on count in full at the review, so earning `points_to_keep` tier
points before `review_at` keeps the tier. The figures assume nothing else moves (a refund
can take points back; the review job runs on its own schedule).

`standings(member_ids)` answers for many members in a fixed number of queries (a
DataLoader's fetch, and the at-risk job's batches).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.functions import Sum

from core import clock
from members.models import Program
from members.program import get_program
from rewards.tiers import service as tiers
from rewards.tiers.models import Tier, TierPointEntry

# Tier points earned at one instant: (earned_at, net points).
Earned = tuple[datetime, int]


@dataclass(frozen=True)
class TierStanding:
    at_risk: bool = False
    points_to_keep: int = 0
    review_at: datetime | None = None
    # The tier it is about (the one held now).
    tier: Tier | None = None


SAFE = TierStanding()


def _counted_at(at: datetime, earned: Sequence[Earned], program: Program) -> int:
    since = tiers.window_start(program, at)
    return max(0, sum(p for when, p in earned if since is None or when > since))


def standing_of(
    status: tiers.TierStatus, earned: Sequence[Earned], program: Program, now: datetime
) -> TierStanding:
    """The standing from the tier status and the counted tier points (pure).

    `earned` holds the member's tier points still counted now, netted per instant (only
    needed for a ROLLING_YEAR window).
    """
    tier = status.tier
    if tier is None or tier.threshold <= 0:
        return SAFE
    since = tiers.window_start(program, now)
    if status.tier_points < tier.threshold:
        grace = timedelta(days=program.tier_grace_days)
        review = status.grace_until or now + grace
    elif since is None:
        return SAFE
    else:
        leaving = [when for when, points in earned if points]
        if not leaving:
            return SAFE
        review = min(leaving) + (now - since)
    # A grace that already ended is settled by the review job's next run: count as of now.
    at = max(review, now)
    counted = status.tier_points if since is None else _counted_at(at, earned, program)
    missing = max(0, tier.threshold - counted)
    return TierStanding(at_risk=missing > 0, points_to_keep=missing, review_at=review, tier=tier)


async def standings(member_ids: list[int]) -> dict[int, TierStanding]:
    """Each member's standing: tiers.statuses() plus one query over tier points."""
    if not member_ids:
        return {}
    program = await get_program()
    found = await tiers.statuses(member_ids)
    now = clock.now()
    since = tiers.window_start(program, now)
    holders = [m for m, s in found.items() if s.tier is not None and s.tier.threshold > 0]
    earned: dict[int, list[Earned]] = defaultdict(list)
    if holders and since is not None:
        rows = (
            await TierPointEntry.filter(member_id__in=holders, earned_at__gt=since)
            .group_by("member_id", "earned_at")
            .annotate(total=Sum("points"))
            .values("member_id", "earned_at", "total")
        )
        for row in rows:
            earned[int(row["member_id"])].append((row["earned_at"], int(row["total"] or 0)))
    return {m: standing_of(found[m], earned.get(m, []), program, now) for m in member_ids}


async def standing(member_id: int) -> TierStanding:
    return (await standings([member_id]))[member_id]
