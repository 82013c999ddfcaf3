"""The tier.at_risk notice: members about to lose their tier hear what keeps it, and by when.

The job walks the members of every tier above the starting one in batches, reads their
standing (rewards.tier_status, a fixed number of queries per batch) and puts a notice in
the inbox of those at risk. It is keyed per (tier, review): once per review period, and a
rerun at the same moment adds nothing. A member hovering at the edge of their tier could be
at risk again at every next review, so at most one notice per COOLDOWN is sent.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from core import clock
from engage import wording
from engage.models import Notification, NotificationKind
from engage.notifications import Draft, notify_many
from members.models import Member, Program
from members.program import get_program
from rewards.tiers import service as tiers
from rewards.tiers import status as tier_status

BATCH = 500
COOLDOWN = timedelta(days=7)


def draft(member_id: int, standing: tier_status.TierStanding, program: Program) -> Draft:
    tier = standing.tier
    assert tier is not None and standing.review_at is not None
    by = wording.local_day(standing.review_at, program.timezone)
    spend = Decimal(standing.points_to_keep) * Decimal(program.tier_point_unit)
    return Draft(
        member_id=member_id,
        kind=NotificationKind.TIER_AT_RISK,
        key=f"tier-at-risk:{tier.code}:{standing.review_at.isoformat()}",
        template="tier.at_risk",
        values={
            "tierName": tier.name,
            "points": wording.points(standing.points_to_keep),
            "amount": wording.money(spend),
            "expiresOn": by,
        },
        deep_link="tier",
    )


async def notify_at_risk() -> int:
    """Notify members at risk of losing their tier; returns how many notices were sent."""
    program = await get_program()
    sent = 0
    for tier in await tiers.list_tiers():
        if tier.threshold <= 0:
            continue
        holders = await tiers.member_filter(tier.code)
        last_id = 0
        while True:
            rows = (
                await Member.filter(holders, id__gt=last_id, erased_at__isnull=True)
                .order_by("id")
                .limit(BATCH)
                .values("id")
            )
            if not rows:
                break
            batch = [int(r["id"]) for r in rows]
            last_id = batch[-1]
            sent += await _notify_batch(batch, program)
    return sent


async def _notify_batch(member_ids: list[int], program: Program) -> int:
    found = await tier_status.standings(member_ids)
    at_risk = {m: s for m, s in found.items() if s.at_risk and s.review_at is not None}
    if not at_risk:
        return 0
    recent = set(
        await Notification.filter(
            member_id__in=list(at_risk),
            kind=NotificationKind.TIER_AT_RISK.value,
            created_at__gt=clock.now() - COOLDOWN,
        ).values_list("member_id", flat=True)
    )
    drafts = [
        draft(m, standing, program)
        for m, standing in at_risk.items()
        if m not in recent and standing.tier is not None
    ]
    return await notify_many(drafts)
