"""Profile edits: the member's own, or staff's on the member's behalf, each one recorded.

`update_profile(member_id, changes, actor)` takes only the fields given: a field left out is
left alone, a field given as None clears it (displayName cannot be cleared). Values are
checked and normalised as at enrolment (Vietnamese phones: +84 901... is 0901...). Every
edit that changes something writes a ProfileChange: when, who (the caller's role), which
fields, and their old and new values for the care history. Erasure blanks those values.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from core import clock, validation
from core.errors import InvalidInput
from core.events import unit_of_work
from members import service
from members.models import Member, ProfileChange

FIELDS = ("display_name", "email", "phone", "birthday", "gender", "city")


def _display_name(value: str, where: str) -> str:
    return validation.text(value, where, max_len=100)


_CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "display_name": _display_name,
    "email": validation.email,
    "phone": validation.phone,
    "birthday": service.check_birthday,
    "gender": service.check_gender,
    "city": service.check_city,
}


def validate(changes: dict[str, Any]) -> dict[str, Any]:
    """The column values to write; InvalidInput names the first bad field, nothing written."""
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in _CHECKS:
            raise ValueError(f"{name} is not a profile field")
        blank = value is None or (isinstance(value, str) and not value.strip())
        if blank:
            if name == "display_name":
                raise InvalidInput("displayName cannot be empty", name)
            values[name] = None
        else:
            values[name] = _CHECKS[name](value, name)
    return values


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


async def update_member(
    viewer_member_id: int | None, external_id: str | None, changes: dict[str, Any], actor: str
) -> Member:
    """updateMember: a member edits their own profile, staff the one they name."""
    member = await service.acting_on(viewer_member_id, external_id)
    return await update_profile(member.id, changes, actor)


async def update_profile(member_id: int, changes: dict[str, Any], actor: str) -> Member:
    """Apply the given fields to the (not erased) member and record what changed."""
    values = validate(changes)
    async with unit_of_work():
        await service.get_member(member_id)  # not found, or erased: refused
        # The row lock makes the recorded old values the ones this edit replaced.
        member = await Member.select_for_update().get(id=member_id)
        moved = {
            name: {"old": _json(getattr(member, name)), "new": _json(value)}
            for name, value in values.items()
            if getattr(member, name) != value
        }
        if not moved:
            return member
        await Member.filter(id=member_id).update(**{name: values[name] for name in moved})
        await ProfileChange.create(
            member_id=member_id,
            changed_at=clock.now(),
            actor=actor,
            names=[name for name in FIELDS if name in moved],
            diff=moved,
        )
        await member.refresh_from_db()
        return member
