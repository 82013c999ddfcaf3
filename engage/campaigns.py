"""Notification campaigns: create, cancel, and the idempotent delivery job.

Status moves SCHEDULED -> SENDING -> SENT, or SCHEDULED -> CANCELLED (cancelling works
until sending starts). A campaign is due at sendAt (null = at creation); one that is due
now is delivered in a background task kicked right after it is created, and the
`campaigns.deliver` job delivers whatever is due besides.

A campaign goes out on one channel (PUSH by default; SMS, EMAIL, ZALO) with its own title
and body or a stored template's (templateKey), both with placeholders ({displayName} ...)
filled per member. Every recipient also finds it in their inbox.

Quiet windows: a campaign that comes due inside one of the program's quiet windows is
held: its due_at moves to the window's end and it counts the members it targets in
deferredByQuietHours. Once sending has started it runs to the end (the channel's outbox
still sends nothing inside a window).

Delivery walks the targeted members (not erased) in id order: the segment's filter picks
the next window of members after the stored cursor, then each batch of them is ONE
transaction under the campaign's row lock: skip ids at or below the cursor (done already),
drop members without consent for the channel (suppressedByConsent), drop those who already
received maxNotificationsPerWeek campaign messages on any channel in the last 7 days
(suppressedByCap), bulk-insert the inbox entries (unique per campaign and member) and the
channel's deliveries, advance the cursor and the counters, and queue the
NotificationReceived events. A crash rolls the batch back and a rerun continues from the
cursor; two processes serialise on the lock. So no member ever gets a campaign twice.
The channel's outbox sends after each batch (engage/deliveries.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Count

from core import clock, sql, validation
from core.errors import InvalidInput, NotEligible, NotFound
from core.events import emit, unit_of_work
from engage import background, deliveries, quiet_hours, recipients, templates
from engage.models import CampaignStatus, Notification, NotificationCampaign, NotificationKind
from engage.notifications import NotificationReceived
from members import consents, segments
from members.consents import Channel
from members.models import Member
from members.program import get_program

BATCH = 1000
WINDOW_BATCHES = 10
CAP_WINDOW = timedelta(days=7)
MAX_CONVERSION_DAYS = 365


@dataclass
class CampaignData:
    title: str | None
    body: str | None
    deep_link: str | None = None
    segment_id: int | None = None
    send_at: datetime | None = None
    channel: Channel = Channel.PUSH
    template_key: str | None = None
    conversion_window_days: int | None = None


async def _words(data: CampaignData) -> tuple[str, str]:
    """The campaign's title and body: its own, or its template's on its channel."""
    if data.template_key is not None:
        template = await templates.find(data.template_key.strip(), data.channel)
        if template is None:
            raise NotFound(
                f"no {data.channel.value} template with key {data.template_key!r}",
                "template_key",
            )
        return template.title or "", template.body
    if data.title is None:
        raise InvalidInput("give a title and body, or a templateKey", "title")
    if data.body is None:
        raise InvalidInput("give a title and body, or a templateKey", "body")
    title = templates.check(validation.text(data.title, "title", max_len=100), "title")
    body = templates.check(validation.text(data.body, "body", max_len=1000), "body")
    return title, body


async def create_campaign(data: CampaignData) -> NotificationCampaign:
    title, body = await _words(data)
    deep_link = (
        validation.text(data.deep_link, "deep_link", max_len=500) if data.deep_link else None
    )
    window = data.conversion_window_days
    if window is None:
        window = 7
    elif not 1 <= window <= MAX_CONVERSION_DAYS:
        raise InvalidInput(
            f"conversionWindowDays must be 1..{MAX_CONVERSION_DAYS}", "conversion_window_days"
        )
    if data.segment_id is not None:
        await segments.get_segment(data.segment_id)
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
        channel=data.channel.value,
        template_key=data.template_key.strip() if data.template_key else None,
        conversion_window_days=window,
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
    """The members a campaign is for: its segment's (or everyone), never the erased."""
    alive = Q(erased_at__isnull=True)
    if campaign.segment_id is None:
        return alive
    return (await segments.filter_for(campaign.segment_id)) & alive


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
    """Deliver one campaign if it is due; returns the messages delivered by this call."""
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
            delivered += await _deliver_batch(campaign_id, window[start : start + BATCH])


async def _start(campaign: NotificationCampaign, now: datetime) -> bool:
    """SCHEDULED -> SENDING (or held past a quiet window); False if not started now."""
    program = await get_program()
    target = Member.filter(await _target(campaign))
    quiet_end = quiet_hours.quiet_until(now, quiet_hours.windows_of(program), program.timezone)
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


def received(row: dict[str, Any], created: datetime) -> NotificationReceived:
    return NotificationReceived(
        member_id=int(row["member_id"]),
        notification={
            "id": int(row["id"]),
            "title": row["title"],
            "body": row["body"],
            "deepLink": row["deep_link"],
            "createdAt": created.isoformat(),
            "readAt": None,
        },
        at=created,
    )


_INBOX_COLUMNS: list[tuple[str, str]] = [
    ("member_id", "int"),
    ("kind", "text"),
    ("key", "text"),
    ("campaign_id", "int"),
    ("title", "text"),
    ("body", "text"),
    ("deep_link", "text"),
    ("created_at", "timestamp"),
]
_INBOX_NAMES = ", ".join(name for name, _ in _INBOX_COLUMNS)


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
        channel = Channel(campaign.channel)
        allowed = await consents.granted(ids, channel)
        capped = await _over_cap(
            [m for m in ids if m in allowed], program.max_notifications_per_week, now
        )
        chosen = [m for m in ids if m in allowed and m not in capped]
        made = await _write(campaign, channel, chosen, now)
        await NotificationCampaign.filter(id=campaign_id).update(
            cursor=ids[-1],
            delivered=campaign.delivered + made,
            suppressed_by_cap=campaign.suppressed_by_cap + len(capped),
            suppressed_by_consent=campaign.suppressed_by_consent + len(ids) - len(allowed),
        )
        return made


async def _write(
    campaign: NotificationCampaign, channel: Channel, member_ids: list[int], now: datetime
) -> int:
    """The inbox entries and the channel's deliveries of a batch's recipients."""
    if not member_ids:
        return 0
    texts = (campaign.title, campaign.body)
    asks = any(templates.names_in(t) & templates.MEMBER_PLACEHOLDERS for t in texts)
    people = await recipients.of(member_ids) if asks else {}
    tier_names = await recipients.tier_names() if asks else {}
    key = f"campaign:{campaign.id}"
    values: dict[int, dict[str, str]] = {}
    inbox_rows = []
    for m in member_ids:
        who = people.get(m)
        values[m] = recipients.values(who, tier_names) if who else {}
        inbox_rows.append(
            (
                m,
                NotificationKind.CAMPAIGN.value,
                key,
                campaign.id,
                templates.render(campaign.title, values[m])[:100],
                templates.render(campaign.body, values[m])[:1000],
                campaign.deep_link,
                now,
            )
        )
    source, params = sql.values(_INBOX_COLUMNS, inbox_rows, 1)
    made = await sql.rows(
        f"INSERT INTO notification ({_INBOX_NAMES}) SELECT {_INBOX_NAMES}"
        f" FROM ({source}) AS v WHERE TRUE ON CONFLICT (member_id, key) DO NOTHING"
        " RETURNING id, member_id, title, body, deep_link",
        params,
    )
    outgoing = []
    for row in made:
        emit(received(row, now))
        m = int(row["member_id"])
        if channel is Channel.PUSH:
            title, body = row["title"], row["body"]
        else:  # {link} stays for the sender: each delivery gets its own tracked link
            linked = {**values[m], "link": "{link}"}
            title = templates.render(campaign.title, linked)
            body = templates.render(campaign.body, linked)
        outgoing.append(
            deliveries.DeliveryDraft(
                member_id=m,
                channel=channel,
                template_key=campaign.template_key or "campaign",
                title=title or None,
                body=body,
                due_at=now,
                created_at=now,
                campaign_id=campaign.id,
                notification_id=int(row["id"]),
                deep_link=campaign.deep_link,
                data=values[m],
            )
        )
    await deliveries.queue(outgoing)
    return len(made)


async def _over_cap(member_ids: list[int], cap: int | None, now: datetime) -> set[int]:
    """Members who already received `cap` campaign messages (any channel: each campaign
    message is an inbox entry) in the last 7 days."""
    if cap is None or not member_ids:
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
