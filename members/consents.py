"""Consent to be messaged, per channel: read it, change it, and filter recipients by it.

PUSH is granted until the member says no (the app asked the phone's permission already);
SMS, EMAIL and ZALO are not granted until the member says yes. A MemberConsent row holds
the member's last answer for a channel (no row = the default); every answer that changes
what is granted writes a ConsentChange (when, who: the caller's role). Erased members are
never granted anything.

For senders (campaigns, transactional messages), two set-based forms that never loop over
members:
    granted_filter(channel) -> Q      members who may receive `channel` now (a subquery)
    granted(member_ids, channel)      the subset of member_ids who may (one query per 1000)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from tortoise.expressions import Q, Subquery

from core import clock
from core.errors import InvalidInput
from core.events import unit_of_work
from members import service
from members.models import ConsentChange, Member, MemberConsent


class Channel(Enum):
    PUSH = "PUSH"
    SMS = "SMS"
    EMAIL = "EMAIL"
    ZALO = "ZALO"


_CHUNK = 1000
DEFAULT_GRANTED = {
    Channel.PUSH: True,
    Channel.SMS: False,
    Channel.EMAIL: False,
    Channel.ZALO: False,
}


@dataclass(frozen=True)
class Consent:
    channel: Channel
    granted: bool
    # When the member (or staff for them) last answered; None = never asked, the default.
    updated_at: datetime | None = None


def _defaults() -> dict[Channel, Consent]:
    return {c: Consent(c, DEFAULT_GRANTED[c]) for c in Channel}


async def of_members(member_ids: list[int]) -> dict[int, list[Consent]]:
    """Every channel's consent for each member, in Channel order (one query)."""
    found = {m: _defaults() for m in member_ids}
    if member_ids:
        for row in await MemberConsent.filter(member_id__in=member_ids):
            channel = Channel(row.channel)
            found[row.member_id][channel] = Consent(channel, row.granted, row.updated_at)
    return {m: list(by_channel.values()) for m, by_channel in found.items()}


async def answer(
    viewer_member_id: int | None,
    external_id: str | None,
    answers: list[tuple[Channel, bool]],
    actor: str,
) -> Member:
    """setConsents: a member answers for themselves, staff for the member they name."""
    member = await service.acting_on(viewer_member_id, external_id)
    await set_consents(member.id, answers, actor)
    return member


async def set_consents(
    member_id: int, answers: list[tuple[Channel, bool]], actor: str, field: str = "consents"
) -> list[Consent]:
    """Record the member's answers; a channel named twice is INVALID_INPUT (nothing written)."""
    channels = [c for c, _ in answers]
    if len(set(channels)) != len(channels):
        raise InvalidInput("each channel may be given once", field)
    now = clock.now()
    async with unit_of_work():
        # The member's row lock serialises two answers for one member (SQLite: writers are).
        await Member.select_for_update().filter(id=member_id).first()
        stored = {
            Channel(r.channel): r for r in await MemberConsent.filter(member_id=member_id).all()
        }
        for channel, granted in answers:
            row = stored.get(channel)
            before = row.granted if row is not None else DEFAULT_GRANTED[channel]
            if row is None:
                await MemberConsent.create(
                    member_id=member_id, channel=channel.value, granted=granted, updated_at=now
                )
            else:
                await MemberConsent.filter(id=row.id).update(granted=granted, updated_at=now)
            if before != granted:
                await ConsentChange.create(
                    member_id=member_id,
                    channel=channel.value,
                    granted=granted,
                    changed_at=now,
                    actor=actor,
                )
    return (await of_members([member_id]))[member_id]


async def withdraw_all(member_id: int, actor: str) -> None:
    """Every channel refused (erasure): nothing may be sent to the member any more."""
    await set_consents(member_id, [(c, False) for c in Channel], actor)


def granted_filter(channel: Channel) -> Q:
    """A Q over Member: the members who may be messaged on `channel` now."""
    if DEFAULT_GRANTED[channel]:
        refused = MemberConsent.filter(channel=channel.value, granted=False).values("member_id")
        allowed = ~Q(id__in=Subquery(refused))
    else:
        agreed = MemberConsent.filter(channel=channel.value, granted=True).values("member_id")
        allowed = Q(id__in=Subquery(agreed))
    return allowed & Q(erased_at__isnull=True)


async def granted(member_ids: Iterable[int], channel: Channel) -> set[int]:
    """The members among member_ids who may be messaged on `channel` now (one query per
    1000 ids, so no IN list outgrows a backend's bound-parameter limit)."""
    wanted = sorted(set(member_ids))
    found: set[int] = set()
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        rows = await Member.filter(Q(id__in=chunk) & granted_filter(channel)).values("id")
        found.update(int(r["id"]) for r in rows)
    return found
