"""Small builders of test data through the domain functions (never raw inserts).

Members join through the real enrolment (rewards.enrolment): their state row, welcome points
(the program gives none by default) and welcome message come with them, as in production,
and the factory returns once the enrolment's after-commit work is done (`settled`).
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from core import outbox
from core.security import issue_member_token
from core.settings import Settings
from engage import background
from members.models import Member
from members.service import Enrolment
from rewards import enrolment

_seq = itertools.count(1)


async def member(**fields: Any) -> Member:
    n = next(_seq)
    data = {"external_id": f"m-{n}", "display_name": f"Nguyễn Văn {n}"} | fields
    m = await enrolment.enroll(Enrolment(**data))
    await settled()
    return m


async def settled() -> None:
    """Wait for what committed writes left running (the welcome's push, deleting relayed
    outbox rows), so that a test's next step starts from rest and sees only its own work."""
    await outbox.drain()  # first: its delayed delete has not started yet
    await background.drain()


def token_for(m: Member, settings: Settings, ttl: timedelta = timedelta(hours=1)) -> str:
    return issue_member_token(m.id, ttl, settings)[0]
