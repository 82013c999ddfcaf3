"""Transactional messages: what happened to one member, told in their words (templates).

    welcome            on MemberEnrolled, in the enrolment's transaction
    birthday           job: on the member's birthday in the program's zone (once a year;
                       29 February birthdays on 28 February in other years)
    tier up            on TierChanged to a higher tier
    mission completed  on MissionCompleted (each completion)
    voucher expiring   job: an unused voucher expiring within VOUCHER_NOTICE (once each)
    points expiring    job: points expiring within POINTS_NOTICE (at most once a week)
    (tier at risk: engage/tier_at_risk.py)

They are keyed per member (a repeat of the same cause adds nothing), are not counted
against the campaign cap, and every channel's delivery waits for the end of a quiet window
(the inbox and the live event do not). The event handlers run inside the cause's unit of
work, so the message commits or rolls back with it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tortoise.expressions import RawSQL
from tortoise.functions import Min, Sum

from core import clock, sql
from engage import wording
from engage.models import NotificationKind
from engage.notifications import Draft, notify, notify_many
from game.missions.events import MissionCompleted
from members.models import Member
from members.program import get_program
from rewards.enrolment import MemberEnrolled
from rewards.ledger.models import Lot
from rewards.tiers import service as tiers
from rewards.tiers.service import TierChanged
from rewards.vouchers.models import Voucher

VOUCHER_NOTICE = timedelta(days=3)
POINTS_NOTICE = timedelta(days=7)
BATCH = 500


async def on_member_enrolled(event: MemberEnrolled) -> None:
    program = await get_program()
    await notify(
        Draft(
            member_id=event.member_id,
            kind=NotificationKind.WELCOME,
            key="welcome",
            template="welcome",
            values={"points": wording.points(program.welcome_points)},
            deep_link="home",
        )
    )


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
            template="tier.up",
            values={"tierName": to.name},
            deep_link="tier",
        )
    )


async def on_mission_completed(event: MissionCompleted) -> None:
    await notify(
        Draft(
            member_id=event.member_id,
            kind=NotificationKind.MISSION_COMPLETED,
            key=f"mission:{event.mission_id}:{event.at.isoformat()}",
            template="mission.completed",
            values={"missionName": event.title},
            deep_link=f"mission/{event.mission_id}",
        )
    )


async def remind_expiring() -> dict[str, int]:
    """The job: remind members of vouchers and points about to expire (idempotent)."""
    now = clock.now()
    program = await get_program()
    vouchers = await Voucher.filter(
        status="ACTIVE", expires_at__gt=now, expires_at__lte=now + VOUCHER_NOTICE
    ).values("id", "member_id", "code", "expires_at")
    voucher_drafts = [
        Draft(
            member_id=v["member_id"],
            kind=NotificationKind.VOUCHER_EXPIRING,
            key=f"voucher-expiring:{v['id']}",
            template="voucher.expiring",
            values={
                "voucherCode": v["code"],
                "expiresOn": wording.local_day(v["expires_at"], program.timezone),
            },
            deep_link=f"voucher/{v['id']}",
        )
        for v in vouchers
    ]
    week = clock.week_key(now, program.timezone)
    expiring: list[dict[str, Any]] = await (
        Lot.filter(remaining__gt=0, expires_at__gt=now, expires_at__lte=now + POINTS_NOTICE)
        .annotate(points=Sum("remaining"), first=Min("expires_at"))
        .group_by("member_id")
        .values("member_id", "points", "first")
    )
    points_drafts = []
    for row in expiring:
        first = sql.decode_datetime(row["first"])
        if int(row["points"] or 0) <= 0 or first is None:
            continue
        points_drafts.append(
            Draft(
                member_id=row["member_id"],
                kind=NotificationKind.POINTS_EXPIRING,
                key=f"points-expiring:{week}",
                template="points.expiring",
                values={
                    "points": wording.points(int(row["points"])),
                    "expiresOn": wording.local_day(first, program.timezone),
                },
                deep_link="points",
            )
        )
    made_vouchers = await notify_many(voucher_drafts)
    made_points = await notify_many(points_drafts)
    return {"vouchers": made_vouchers, "points": made_points}


def _birthday_sql(dialect: str) -> str:
    if dialect == "postgres":
        return "TO_CHAR(birthday, 'MM-DD')"
    return "strftime('%m-%d', birthday)"


async def greet_birthdays() -> int:
    """The job: a birthday message to each member whose birthday is today (program zone),
    keyed per year so reruns add nothing; returns how many were sent."""
    program = await get_program()
    today = clock.local_today(program.timezone)
    days = [today.strftime("%m-%d")]
    if today.month == 2 and today.day == 28 and not _leap(today.year):
        days.append("02-29")
    sent = 0
    last_id = 0
    while True:
        rows = (
            await Member.filter(birthday__isnull=False, erased_at__isnull=True, id__gt=last_id)
            .annotate(day=RawSQL(_birthday_sql(sql.dialect())))
            .filter(day__in=days)
            .order_by("id")
            .limit(BATCH)
            .values("id")
        )
        if not rows:
            return sent
        last_id = int(rows[-1]["id"])
        sent += await notify_many(
            [
                Draft(
                    member_id=int(r["id"]),
                    kind=NotificationKind.BIRTHDAY,
                    key=f"birthday:{today.year}",
                    template="birthday",
                    values={"points": wording.points(program.birthday_points)},
                    deep_link="home",
                )
                for r in rows
            ]
        )


def _leap(year: int) -> bool:
    try:
        date(year, 2, 29)
    except ValueError:
        return False
    return True
