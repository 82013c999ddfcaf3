"""The member's inbox: every notification (campaign or transactional), reading and marking.

Transactional notifications (tier up, mission completed, voucher or points about to
expire) are made by `notify_many()`: at most once per (member, key), never counted against
the campaign cap (the cap counts campaign notifications only). They reach the inbox and
the member's sockets at once; their push waits for the end of quiet hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core import clock, validation
from core.errors import InvalidInput, NotFound
from core.events import MemberEvent, emit, unit_of_work
from engage import background, push, quiet_hours
from engage.models import Notification, NotificationKind
from members.program import get_program

BATCH = 500


@dataclass
class NotificationReceived(MemberEvent):
    member_id: int
    notification: dict[str, Any]
    at: datetime

    def message(self) -> dict[str, Any]:
        return {
            "type": "NotificationReceived",
            "notification": self.notification,
            "at": self.at.isoformat(),
        }


def snapshot(n: Notification) -> dict[str, Any]:
    """The notification as the live event carries it (what the Notification type shows)."""
    return {
        "id": n.id,
        "title": n.title,
        "body": n.body,
        "deepLink": n.deep_link,
        "createdAt": n.created_at.isoformat(),
        "readAt": n.read_at.isoformat() if n.read_at else None,
    }


def received(n: Notification) -> NotificationReceived:
    return NotificationReceived(member_id=n.member_id, notification=snapshot(n), at=n.created_at)


@dataclass(frozen=True)
class Draft:
    member_id: int
    kind: NotificationKind
    key: str
    title: str
    body: str
    deep_link: str | None = None


async def push_due_at(now: datetime) -> datetime:
    """When a transactional push may go: now, or the end of the quiet hours now is in."""
    program = await get_program()
    return quiet_hours.release_time(
        now, program.quiet_hours_start, program.quiet_hours_end, program.timezone
    )


async def notify_many(drafts: list[Draft]) -> list[Notification]:
    """Put transactional notifications in inboxes; a (member, key) already there is skipped."""
    now = clock.now()
    due = await push_due_at(now)
    made: list[Notification] = []
    for start in range(0, len(drafts), BATCH):
        made += await _insert(drafts[start : start + BATCH], now, due)
    if made and due <= now:
        background.kick("push", push.flush)
    return made


async def notify(draft: Draft) -> Notification | None:
    made = await notify_many([draft])
    return made[0] if made else None


async def _insert(drafts: list[Draft], now: datetime, due: datetime) -> list[Notification]:
    members = list({d.member_id for d in drafts})
    keys = list({d.key for d in drafts})
    async with unit_of_work():
        existing = set(
            await Notification.filter(member_id__in=members, key__in=keys).values_list(
                "member_id", "key"
            )
        )
        fresh: dict[tuple[int, str], Draft] = {}
        for d in drafts:
            if (d.member_id, d.key) not in existing:
                fresh.setdefault((d.member_id, d.key), d)
        if not fresh:
            return []
        await Notification.bulk_create(
            [
                Notification(
                    member_id=d.member_id,
                    kind=d.kind.value,
                    key=d.key,
                    title=d.title[:100],
                    body=d.body[:1000],
                    deep_link=d.deep_link,
                    created_at=now,
                    push_due_at=due,
                )
                for d in fresh.values()
            ],
            ignore_conflicts=True,
        )
        rows = await Notification.filter(
            member_id__in=members, key__in=keys, created_at=now
        ).order_by("id")
        made = [n for n in rows if (n.member_id, n.key) in fresh]
        for n in made:
            emit(received(n))
        return made


async def inbox(member_id: int, unread_only: bool, first: int) -> list[Notification]:
    """The member's notifications, newest first."""
    if not 0 <= first <= validation.MAX_LIST:
        raise InvalidInput(f"first must be 0..{validation.MAX_LIST}", "first")
    query = Notification.filter(member_id=member_id)
    if unread_only:
        query = query.filter(read_at__isnull=True)
    return await query.order_by("-id").limit(first)


async def unread_count(member_id: int) -> int:
    return await Notification.filter(member_id=member_id, read_at__isnull=True).count()


async def mark_read(member_id: int, ids: list[str]) -> int:
    """Mark the member's notifications read (again is harmless); returns the unread count.

    An id that is not one of the member's notifications is NOT_FOUND and nothing is marked.
    """
    validation.capped_list(ids, "ids")
    try:
        wanted = {int(i) for i in ids}
    except ValueError as exc:
        raise NotFound("no such notification", "ids") from exc
    async with unit_of_work():
        mine = set(
            await Notification.filter(member_id=member_id, id__in=list(wanted)).values_list(
                "id", flat=True
            )
        )
        if mine != wanted:
            raise NotFound(f"no such notification: {sorted(wanted - mine)}", "ids")
        await Notification.filter(id__in=list(wanted), read_at__isnull=True).update(
            read_at=clock.now()
        )
    return await unread_count(member_id)
