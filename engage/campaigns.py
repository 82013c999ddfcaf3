"""Notification campaigns: create, cancel, and the idempotent delivery job.

Status moves SCHEDULED -> SENDING -> SENT, or SCHEDULED -> CANCELLED (cancelling works
until sending starts). A campaign is due at sendAt (null = at creation); one that is due
now is delivered in a background task kicked right after it is created, and the
`campaigns.deliver` job delivers whatever is due besides.

Quiet hours: a campaign that comes due inside the program's quiet hours is held: its
due_at moves to their end and it counts the members it targets in deferredByQuietHours.
Once sending has started it runs to the end.

Delivery walks the targeted members in id order: the segment's filter picks the next
window of members after the stored cursor, then each batch of them is ONE transaction
under the campaign's row lock: skip ids at or below the cursor (done already), drop those
who already received maxNotificationsPerWeek campaign notifications in the last 7 days
(suppressedByCap), bulk-insert the notifications (unique per campaign and member),
advance the cursor and the counters, and queue the NotificationReceived events.
A crash rolls the batch back and a rerun continues from the cursor; two processes
serialise on the lock. So no member ever gets a campaign twice. Pushes go out through
the push outbox after each batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q
from tortoise.functions import Count

from core import clock, validation
from core.errors import NotEligible, NotFound
from core.events import emit, unit_of_work
from engage import background, push, quiet_hours
from engage.models import CampaignStatus, Notification, NotificationCampaign, NotificationKind
from engage.notifications import received
from members import segments
from members.models import Member
from members.program import get_program

BATCH = 1000
WINDOW_BATCHES = 10
CAP_WINDOW = timedelta(days=7)


@dataclass
class CampaignData:
    title: str
    body: str
    deep_link: str | None = None
    segment_id: int | None = None
    send_at: datetime | None = None


async def create_campaign(data: CampaignData) -> NotificationCampaign:
    title = validation.text(data.title, "input.title", max_len=100)
    body = validation.text(data.body, "input.body", max_len=1000)
    deep_link = (
        validation.text(data.deep_link, "input.deepLink", max_len=500) if data.deep_link else None
    )
    if data.segment_id is not None:
        await segments.get_segment(data.segment_id, "input.segmentId")
    now = clock.now()
    send_at = data.send_at
    if send_at is not None and send_at.tzinfo is None:
        send_at = send_at.replace(tzinfo=UTC)
    campaign = await NotificationCampaign.create(
        title=title,
        body=body,
        deep_link=deep_link,
        segment_id=data.segment_id,
        send_at=send_at,
        due_at=max(send_at or now, now),
        created_at=now,
    )
    if campaign.due_at <= now:
        background.kick("campaigns", deliver_due)
    return campaign


async def get_campaign(campaign_id: int, field: str = "id") -> NotificationCampaign:
    campaign = await NotificationCampaign.get_or_none(id=campaign_id)
    if campaign is None:
        raise NotFound("campaign not found", field)
    return campaign


async def list_campaigns() -> list[NotificationCampaign]:
    return await NotificationCampaign.all().order_by("-id")


async def cancel_campaign(campaign_id: int) -> NotificationCampaign:
    """Cancel a campaign that has not started sending (cancelling twice is harmless)."""
    changed = await NotificationCampaign.filter(
        id=campaign_id, status=CampaignStatus.SCHEDULED.value
    ).update(status=CampaignStatus.CANCELLED.value, finished_at=clock.now())
    campaign = await get_campaign(campaign_id)
    if not changed and campaign.status != CampaignStatus.CANCELLED.value:
        raise NotEligible(f"the campaign is {campaign.status}: sending has started", "id")
    return campaign


async def _target(campaign: NotificationCampaign) -> Q:
    if campaign.segment_id is None:
        return Q()
    return await segments.filter_for(campaign.segment_id)


async def deliver_due() -> int:
    """The job: deliver every campaign that is due (or resume one a crash interrupted)."""
    delivered = 0
    due = await NotificationCampaign.filter(
        status__in=[CampaignStatus.SCHEDULED.value, CampaignStatus.SENDING.value],
        due_at__lte=clock.now(),
    ).order_by("due_at", "id")
    for campaign in due:
        delivered += await deliver(campaign.id)
    return delivered


async def deliver(campaign_id: int) -> int:
    """Deliver one campaign if it is due; returns the notifications delivered by this call."""
    campaign = await get_campaign(campaign_id)
    now = clock.now()
    if campaign.status == CampaignStatus.SCHEDULED.value:
        if campaign.due_at > now or not await _start(campaign, now):
            return 0
    elif campaign.status != CampaignStatus.SENDING.value:
        return 0
    delivered = 0
    while True:
        # The segment's filter runs once per window of WINDOW_BATCHES batches (a rule over
        # a million postings costs a second or more), not once per batch.
        current = await get_campaign(campaign_id)
        if current.status != CampaignStatus.SENDING.value:
            return delivered
        window: list[int] = await (
            Member.filter(await _target(current), id__gt=current.cursor)
            .order_by("id")
            .limit(BATCH * WINDOW_BATCHES)
            .values_list("id", flat=True)
        )  # type: ignore[assignment]
        if not window:
            await _finish(campaign_id)
            return delivered
        for start in range(0, len(window), BATCH):
            count = await _deliver_batch(campaign_id, window[start : start + BATCH])
            delivered += count
            if count:
                background.kick("push", push.flush)


async def _start(campaign: NotificationCampaign, now: datetime) -> bool:
    """SCHEDULED -> SENDING (or held past quiet hours); False if not started now."""
    program = await get_program()
    target = Member.filter(await _target(campaign))
    quiet_end = quiet_hours.ends_at(
        now, program.quiet_hours_start, program.quiet_hours_end, program.timezone
    )
    scheduled = NotificationCampaign.filter(
        id=campaign.id, status=CampaignStatus.SCHEDULED.value, due_at=campaign.due_at
    )
    if quiet_end is not None:
        await scheduled.update(
            due_at=quiet_end, deferred=True, deferred_by_quiet_hours=await target.count()
        )
        return False
    targeted = await target.count()
    started = await scheduled.update(
        status=CampaignStatus.SENDING.value,
        started_at=now,
        targeted=targeted,
        deferred_by_quiet_hours=targeted if campaign.deferred else 0,
    )
    return bool(started)


async def _finish(campaign_id: int) -> None:
    await NotificationCampaign.filter(id=campaign_id, status=CampaignStatus.SENDING.value).update(
        status=CampaignStatus.SENT.value, finished_at=clock.now()
    )


async def _deliver_batch(campaign_id: int, batch: list[int]) -> int:
    """One batch of targeted member ids (ascending) in one transaction; returns delivered."""
    now = clock.now()
    program = await get_program()
    async with unit_of_work():
        campaign = await NotificationCampaign.select_for_update().get(id=campaign_id)
        if campaign.status != CampaignStatus.SENDING.value:
            return 0
        # Another process may have delivered part of this batch already: skip what it did.
        ids = [m for m in batch if m > campaign.cursor]
        if not ids:
            return 0
        capped = await _over_cap(ids, program.max_notifications_per_week, now)
        recipients = [m for m in ids if m not in capped]
        key = f"campaign:{campaign.id}"
        await Notification.bulk_create(
            [
                Notification(
                    member_id=m,
                    kind=NotificationKind.CAMPAIGN.value,
                    key=key,
                    campaign_id=campaign.id,
                    title=campaign.title,
                    body=campaign.body,
                    deep_link=campaign.deep_link,
                    created_at=now,
                    push_due_at=now,
                )
                for m in recipients
            ],
            ignore_conflicts=True,
        )
        made = await Notification.filter(
            campaign_id=campaign.id, member_id__in=recipients, created_at=now
        )
        for n in made:
            emit(received(n))
        await NotificationCampaign.filter(id=campaign_id).update(
            cursor=ids[-1],
            delivered=campaign.delivered + len(made),
            suppressed_by_cap=campaign.suppressed_by_cap + len(capped),
        )
        return len(made)


async def _over_cap(member_ids: list[int], cap: int | None, now: datetime) -> set[int]:
    """Members who already received `cap` campaign notifications in the last 7 days."""
    if cap is None:
        return set()
    if cap <= 0:
        return set(member_ids)
    rows = (
        await Notification.filter(
            member_id__in=member_ids, campaign_id__isnull=False, created_at__gt=now - CAP_WINDOW
        )
        .annotate(n=Count("id"))
        .group_by("member_id")
        .values("member_id", "n")
    )
    return {int(r["member_id"]) for r in rows if int(r["n"]) >= cap}
