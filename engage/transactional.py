"""Transactional notifications: what happened to one member, told in their inbox.

    tier up            on TierChanged to a higher tier
    mission completed  on MissionCompleted (each completion)
    voucher expiring   job: an unused voucher expiring within VOUCHER_NOTICE (once each)
    points expiring    job: points expiring within POINTS_NOTICE (at most once a week)

They are keyed per member (a repeat of the same cause adds nothing), are not counted
against the campaign cap, and their push waits for the end of quiet hours (the inbox and
the live event do not). The event handlers run after the cause has committed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tortoise.functions import Sum

from core import clock
from engage.models import NotificationKind
from engage.notifications import Draft, notify, notify_many
from game.missions.events import MissionCompleted
from members.program import get_program
from rewards import tiers
from rewards.ledger.models import Lot
from rewards.tiers import TierChanged
from rewards.vouchers.models import Voucher

VOUCHER_NOTICE = timedelta(days=3)
POINTS_NOTICE = timedelta(days=7)


async def on_tier_changed(event: TierChanged) -> None:
    found = await tiers.tiers_by_code([event.from_code or "", event.to_code or ""])
    to = found.get(event.to_code or "")
    before = found.get(event.from_code or "")
    if to is None or (before is not None and before.threshold >= to.threshold):
        return
    await notify(
        Draft(
            member_id=event.member_id,
            kind=NotificationKind.TIER_UP,
            key=f"tier:{to.code}:{event.at.isoformat()}",
            title=f"Welcome to {to.name}",
            body=f"You have reached the {to.name} tier. Enjoy your new benefits!",
            deep_link="tier",
        )
    )


async def on_mission_completed(event: MissionCompleted) -> None:
    await notify(
        Draft(
            member_id=event.member_id,
            kind=NotificationKind.MISSION_COMPLETED,
            key=f"mission:{event.mission_id}:{event.at.isoformat()}",
            title="Mission complete",
            body=f"You completed “{event.title}”.",
            deep_link=f"mission/{event.mission_id}",
        )
    )


async def remind_expiring() -> dict[str, int]:
    """The job: remind members of vouchers and points about to expire (idempotent)."""
    now = clock.now()
    vouchers = await Voucher.filter(
        status="ACTIVE", expires_at__gt=now, expires_at__lte=now + VOUCHER_NOTICE
    ).values("id", "member_id", "offer_id", "expires_at")
    voucher_drafts = [
        Draft(
            member_id=v["member_id"],
            kind=NotificationKind.VOUCHER_EXPIRING,
            key=f"voucher-expiring:{v['id']}",
            title="Your voucher expires soon",
            body="Use your voucher before it expires.",
            deep_link=f"voucher/{v['id']}",
        )
        for v in vouchers
    ]
    program = await get_program()
    week = clock.week_key(now, program.timezone)
    expiring: list[dict[str, Any]] = await (
        Lot.filter(remaining__gt=0, expires_at__gt=now, expires_at__lte=now + POINTS_NOTICE)
        .annotate(points=Sum("remaining"))
        .group_by("member_id")
        .values("member_id", "points")
    )
    points_drafts = [
        Draft(
            member_id=row["member_id"],
            kind=NotificationKind.POINTS_EXPIRING,
            key=f"points-expiring:{week}",
            title="Points expiring soon",
            body=f"{int(row['points'])} of your points expire within a week. Use them!",
            deep_link="points",
        )
        for row in expiring
        if int(row["points"] or 0) > 0
    ]
    made_vouchers = await notify_many(voucher_drafts)
    made_points = await notify_many(points_drafts)
    return {"vouchers": made_vouchers, "points": made_points}
