"""The member's inbox: every notification (campaign or transactional), reading and marking.

Transactional notifications (tier up, mission completed, voucher or points about to
expire) are made by `notify_many()`: at most once per (member, key), never counted against
the campaign cap (the cap counts campaign notifications only). They reach the inbox and
the member's sockets at once; their push waits for the end of quiet hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from core import clock, sql, validation
from core.errors import InvalidInput, NotFound
from core.events import (
    Buffer,
    MemberEvent,
    after_commit,
    buffer,
    current,
    emit,
    flush,
    unit_of_work,
)
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


async def notify_many(drafts: list[Draft]) -> int:
    """Put transactional notifications in inboxes (inside the caller's unit of work, or a
    unit of their own); a (member, key) already there is skipped. Returns how many were
    drafted; the new ones are published live (NotificationReceived) when written."""
    if not drafts:
        return 0
    own = current() is None
    async with unit_of_work():
        now = clock.now()
        due = await push_due_at(now)
        writes = buffer(NotificationWrites)
        for d in drafts:
            writes.rows.setdefault((d.member_id, d.key), (d, now, due))
        if own:  # a unit of its own (a job): write now, to tell how many were new
            await flush()
            return writes.inserted
    return len(drafts)


async def notify(draft: Draft) -> None:
    await notify_many([draft])


class NotificationWrites(Buffer):
    """Inbox rows of a unit, in one statement per BATCH; the new ones go out live and owe
    their push (core.outbox publishes; the push outbox delivers)."""

    order: ClassVar[int] = 80
    COLUMNS: ClassVar[list[tuple[str, str]]] = [
        ("member_id", "int"),
        ("kind", "text"),
        ("key", "text"),
        ("title", "text"),
        ("body", "text"),
        ("deep_link", "text"),
        ("created_at", "timestamp"),
        ("push_due_at", "timestamp"),
    ]

    def __init__(self) -> None:
        self.rows: dict[tuple[int, str], tuple[Draft, datetime, datetime]] = {}
        self.inserted = 0

    async def flush(self) -> None:
        rows = list(self.rows.values())
        names = ", ".join(n for n, _ in self.COLUMNS)
        push_now = False
        for start in range(0, len(rows), BATCH):
            source, params = sql.values(
                self.COLUMNS,
                [
                    (
                        d.member_id,
                        d.kind.value,
                        d.key,
                        d.title[:100],
                        d.body[:1000],
                        d.deep_link,
                        now,
                        due,
                    )
                    for d, now, due in rows[start : start + BATCH]
                ],
                1,
            )
            made = await sql.rows(
                f"INSERT INTO notification ({names}, push_attempts) SELECT {names}, 0"
                f" FROM ({source}) AS v WHERE TRUE ON CONFLICT (member_id, key) DO NOTHING"
                " RETURNING id, member_id, title, body, deep_link, created_at, push_due_at",
                params,
            )
            self.inserted += len(made)
            for row in made:
                created = sql.decode_datetime(row["created_at"])
                assert created is not None
                emit(
                    NotificationReceived(
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
                )
                due_at = sql.decode_datetime(row["push_due_at"])
                push_now = push_now or (due_at is not None and due_at <= created)
        if push_now:
            after_commit(_kick_push)


async def _kick_push() -> None:
    background.kick("push", push.flush)


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
