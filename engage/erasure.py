"""Erasing a member's personal data (Decree 13/2023: the right to deletion), keeping the books.

What goes, in one transaction: name (a pseudonym replaces it), email, phone, birthday,
gender, city, tags, card code, the externalId (a random pseudonym, so the same externalId
may enrol again as a new member), the referral code (a fresh one, unlinked from any code
the person shared), NPS comments, the words of the messages sent to them (written with
their name), the old and new values of profile changes, the attributes of tracked
actions, and every consent (all channels refused; messages still owed on any channel are
cancelled).

What stays, under the pseudonym: the member row and id, postings and balances (so
ledgerAudit stays balanced), orders and refunds, tiers, vouchers, missions, badges and
messages (so analytics stay right). Leaderboards show the member anonymously from the
next snapshot (leaderboard_hidden + the visibility event).

Tokens: the member row now carries erased_at, and members.service.get_member, the lookup
every request acting as a member makes, refuses it, so an erased member's tokens stop
working without a query added to any request. Live sockets: after commit the revocation
message {"type": "Revoked"} goes out on the member's channel; the socket layer closes the
member's sockets on it.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core import clock, definitions
from core.errors import NotFound
from core.events import MemberEvent, emit, unit_of_work
from engage import deliveries
from engage.models import Notification, NpsResponse
from game.leaderboards.updates import LeaderboardVisibilityChanged
from game.models import Action
from members import consents, service
from members.models import Member, ProfileChange

log = logging.getLogger(__name__)

PSEUDONYM_NAME = "Thành viên đã xoá"
REVOKED = {"type": "Revoked"}


@dataclass
class MemberErased:
    """After commit: the member's personal data is gone (webhooks: member.erased)."""

    member_id: int
    at: datetime
    # The externalId the member had (webhooks tell a CRM whom to erase).
    external_id: str | None = None


async def erase(external_id: str, actor: str, field: str = "member_external_id") -> Member:
    """Erase the member's personal data; a second erasure finds nobody (NOT_FOUND)."""
    member = await service.get_by_external_id(external_id, field)
    now = clock.now()
    async with unit_of_work():
        locked = await Member.select_for_update().get(id=member.id)
        if locked.erased_at is not None:  # a concurrent erasure won
            raise NotFound(f"no member with externalId {external_id!r}", field)
        await Member.filter(id=member.id).update(
            external_id=f"erased:{secrets.token_hex(12)}",
            display_name=PSEUDONYM_NAME,
            phone=None,
            email=None,
            birthday=None,
            gender=None,
            city=None,
            tags=[],
            card_code=None,
            referral_code=await service.unused_referral_code(),
            leaderboard_hidden=True,
            erased_at=now,
        )
        await ProfileChange.filter(member_id=member.id).update(diff=None)
        await NpsResponse.filter(member_id=member.id, comment__isnull=False).update(comment=None)
        await Action.filter(member_id=member.id, attributes__isnull=False).update(attributes=None)
        await deliveries.cancel_for(member.id)
        # Messages were written with the member's name: their words go, the counts stay.
        await deliveries.forget_words(member.id)
        await Notification.filter(member_id=member.id).update(title="", body="")
        await consents.withdraw_all(member.id, actor)
        # Every process refuses the member's tokens once it sees the new definitions.
        await definitions.changed()
        emit(LeaderboardVisibilityChanged(member.id))
        emit(MemberErased(member.id, now, locked.external_id))
        emit(Revoked(member.id))  # closes their sockets on every process, through the outbox
    await member.refresh_from_db()
    return member


@dataclass
class Revoked(MemberEvent):
    """The member's sockets close with 4403 (server/sockets.py hears it on member:{id})."""

    member_id: int

    def message(self) -> dict[str, Any]:
        return dict(REVOKED)
