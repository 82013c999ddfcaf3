"""Small builders of test data through the domain functions (never raw inserts)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from core.security import issue_member_token
from core.settings import Settings
from members import service
from members.models import Member

_seq = itertools.count(1)


async def member(**fields: Any) -> Member:
    n = next(_seq)
    data = {"external_id": f"m-{n}", "display_name": f"Nguyễn Văn {n}"} | fields
    return await service.enroll(service.Enrolment(**data))


def token_for(m: Member, settings: Settings, ttl: timedelta = timedelta(hours=1)) -> str:
    return issue_member_token(m.id, ttl, settings)[0]
