"""The member's inbox: every notification (campaign or transactional), reading and marking.

Transactional notifications (welcome, birthday, tier up, tier at risk, mission completed,
voucher or points about to expire) are made by `notify_many()`: at most once per (member,
key), never counted against the campaign cap (the cap counts campaign notifications only).
Their words come from the message templates of their key (engage/templates.py): the PUSH
template writes the inbox entry and the push; a template of the key on SMS, EMAIL or ZALO
sends it there too. They reach the inbox and the member's sockets at once; every channel's
delivery waits for the end of a quiet window (engage/deliveries.py). Erased members get
nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from core import clock, definitions, sql, validation
from core.errors import InvalidInput, NotFound
from core.events import (
    Buffer,
    MemberEvent,
    buffer,
    current,
    emit,
    flush,
    unit_of_work,
)
from engage import deliveries, quiet_hours, recipients, templates
from engage.models import Notification, NotificationKind
from members.consents import Channel
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
    """A transactional notification. With `template` (a template key) its words come from
    the templates of that key, filled with `values` and the member's own; without, the
    given title and body are the inbox entry and the push."""

    member_id: int
    kind: NotificationKind
    key: str
    title: str = ""
    body: str = ""
    deep_link: str | None = None
    template: str | None = None
    values: Mapping[str, str] = field(default_factory=dict)


async def send_after(now: datetime) -> datetime:
    """When a message may leave: now, or the end of the quiet window now is in."""
    program = await get_program()
    return quiet_hours.release(now, quiet_hours.windows_of(program), program.timezone)


async def notify_many(drafts: list[Draft]) -> int:
    """Put transactional notifications in inboxes (inside the caller's unit of work, or a
    unit of their own); a (member, key) already there is skipped. Returns how many were
    drafted; the new ones are published live (NotificationReceived) when written."""
    if not drafts:
        return 0
    own = current() is None
    async with unit_of_work():
        writes = buffer(NotificationWrites)
        for d in drafts:
            writes.rows.setdefault((d.member_id, d.key), d)
        if own:  # a unit of its own (a job): write now, to tell how many were new
            await flush()
            return writes.inserted
    return len(drafts)


async def notify(draft: Draft) -> None:
    await notify_many([draft])


@dataclass
class _Written:
    draft: Draft
    values: dict[str, str]
    title: str
    body: str


class NotificationWrites(Buffer):
    """Inbox rows of a unit, in one statement per BATCH, then their deliveries on every
    channel (one statement more); the new ones go out live."""

    order: ClassVar[int] = 80
    COLUMNS: ClassVar[list[tuple[str, str]]] = [
        ("member_id", "int"),
        ("kind", "text"),
        ("key", "text"),
        ("title", "text"),
        ("body", "text"),
        ("deep_link", "text"),
        ("created_at", "timestamp"),
    ]

    def __init__(self) -> None:
        self.rows: dict[tuple[int, str], Draft] = {}
        self.inserted = 0

    async def flush(self) -> None:
        erased = (await definitions.get())["erased_members"]
        drafts = [d for d in self.rows.values() if d.member_id not in erased]
        if not drafts:
            return
        now = clock.now()
        due = await send_after(now)
        written = await _words(drafts)
        names = ", ".join(n for n, _ in self.COLUMNS)
        made_rows: list[dict[str, Any]] = []
        for start in range(0, len(written), BATCH):
            source, params = sql.values(
                self.COLUMNS,
                [
                    (
                        w.draft.member_id,
                        w.draft.kind.value,
                        w.draft.key,
                        w.title[:100],
                        w.body[:1000],
                        w.draft.deep_link,
                        now,
                    )
                    for w in written[start : start + BATCH]
                ],
                1,
            )
            made_rows += await sql.rows(
                f"INSERT INTO notification ({names}) SELECT {names}"
                f" FROM ({source}) AS v WHERE TRUE ON CONFLICT (member_id, key) DO NOTHING"
                " RETURNING id, member_id, key, title, body, deep_link, created_at",
                params,
            )
        self.inserted += len(made_rows)
        by_key = {(w.draft.member_id, w.draft.key): w for w in written}
        outgoing: list[deliveries.DeliveryDraft] = []
        for row in made_rows:
            created = sql.decode_datetime(row["created_at"])
            assert created is not None
            notification_id = int(row["id"])
            emit(
                NotificationReceived(
                    member_id=int(row["member_id"]),
                    notification={
                        "id": notification_id,
                        "title": row["title"],
                        "body": row["body"],
                        "deepLink": row["deep_link"],
                        "createdAt": created.isoformat(),
                        "readAt": None,
                    },
                    at=created,
                )
            )
            w = by_key[(int(row["member_id"]), row["key"])]
            outgoing += await _deliveries(w, notification_id, due, created)
        await deliveries.queue(outgoing)


async def _words(drafts: list[Draft]) -> list[_Written]:
    """Each draft's inbox title and body, filled with its values and the member's own
    (read in one statement, only when a text of theirs asks for them)."""
    inbox: dict[str, tuple[str, str]] = {}
    used: list[str] = []
    for key in {d.template for d in drafts if d.template is not None}:
        for channel in await templates.channels_for(key):
            found = await templates.find(key, channel)
            if found is None:
                continue
            used += [found.title or "", found.body]
            if channel is Channel.PUSH:
                inbox[key] = (found.title or "", found.body)
    used += [text for d in drafts if d.template not in inbox for text in (d.title, d.body)]
    names = set().union(*(templates.names_in(text) for text in used))
    asks = bool(names & templates.MEMBER_PLACEHOLDERS)
    # The balance and tier quoted are those this unit's earlier buffers wrote.
    quotes_state = bool(names & templates.STATE_PLACEHOLDERS)
    people = (
        await recipients.of((d.member_id for d in drafts), current=quotes_state) if asks else {}
    )
    tier_names = await recipients.tier_names() if asks else {}
    written = []
    for d in drafts:
        who = people.get(d.member_id)
        values = {**(recipients.values(who, tier_names) if who else {}), **d.values}
        title, body = inbox.get(d.template or "", (d.title, d.body))
        written.append(
            _Written(d, values, templates.render(title, values), templates.render(body, values))
        )
    return written


async def _deliveries(
    w: _Written, notification_id: int, due: datetime, created: datetime
) -> list[deliveries.DeliveryDraft]:
    """The notification's deliveries: its push, and its key's other channels."""
    d = w.draft
    key = d.template or templates.KEY_OF.get(d.kind, d.kind.name.lower())
    found = [(Channel.PUSH, w.title, w.body)]
    if d.template is not None:
        for channel in await templates.channels_for(d.template):
            if channel is Channel.PUSH:
                continue
            t = await templates.find(d.template, channel)
            if t is not None:
                # {link} stays for the sender: each delivery gets its own tracked link.
                values = {**w.values, "link": "{link}"}
                found.append(
                    (
                        channel,
                        templates.render(t.title or "", values),
                        templates.render(t.body, values),
                    )
                )
    return [
        deliveries.DeliveryDraft(
            member_id=d.member_id,
            channel=channel,
            template_key=key,
            title=title or None,
            body=body,
            deep_link=d.deep_link,
            notification_id=notification_id,
            data=dict(w.values),
            due_at=due,
            created_at=created,
        )
        for channel, title, body in found
    ]


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
