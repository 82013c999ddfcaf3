"""Enrolment with its rewards: referral checks, the member, welcome points, in ONE transaction.

A rejected referral code or an exhausted issuance budget leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.events import emit, unit_of_work
from members import service
from members.models import Member
from members.program import get_program
from rewards import member_state, referrals
from rewards.ledger import service as ledger
from rewards.ledger.reasons import Reason


@dataclass
class MemberEnrolled:
    """A member joined the program (welcome message, webhooks: member.enrolled)."""

    member_id: int
    referred_by_id: int | None
    at: datetime


async def enroll(data: service.Enrolment) -> Member:
    data = service.validate_enrolment(data)
    async with unit_of_work():
        referrer = None
        if data.referral_code:
            referrer = await referrals.check_referrer(data.referral_code, data.phone, data.email)
        member = await service.create_member(data, referrer)
        emit(MemberEnrolled(member.id, referrer.id if referrer else None, member.enrolled_at))
        await member_state.create(member.id)
        program = await get_program()
        if program.welcome_points > 0:
            await ledger.credit(
                member.id, program.welcome_points, Reason.WELCOME, description="welcome points"
            )
        if referrer is not None:
            await referrals.link(referrer, member)
            if program.referral_welcome_points > 0:
                await ledger.credit(
                    member.id,
                    program.referral_welcome_points,
                    Reason.REFERRAL,
                    description=f"welcome: referred by {referrer.display_name}",
                )
    return member
