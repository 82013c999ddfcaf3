"""Members: enrolment, lookup and search."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from core import clock, ids, validation
from core.errors import AlreadyExists, InvalidInput, NotFound, ReferralRejected
from core.events import unit_of_work
from members.models import Member

GENDERS = ("FEMALE", "MALE", "OTHER", "UNDISCLOSED")
_EXTERNAL_ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-")
REFERRAL_CODE_LENGTH = 8


@dataclass
class Enrolment:
    external_id: str
    display_name: str
    phone: str | None = None
    email: str | None = None
    birthday: date | None = None
    gender: str | None = None
    referral_code: str | None = None
    tags: list[str] = field(default_factory=list)


def validate_enrolment(data: Enrolment) -> Enrolment:
    """Normalize and check every field; raise InvalidInput naming the first bad one."""
    external_id = data.external_id.strip()
    if not 1 <= len(external_id) <= 128 or not set(external_id) <= _EXTERNAL_ID_CHARS:
        raise InvalidInput(
            "externalId must be 1..128 letters, digits or . _ : -", "input.externalId"
        )
    display_name = validation.text(data.display_name, "input.displayName", max_len=100)
    phone = validation.phone(data.phone, "input.phone") if data.phone else None
    email = validation.email(data.email, "input.email") if data.email else None
    if data.birthday and data.birthday > clock.now().date():
        raise InvalidInput("birthday cannot be in the future", "input.birthday")
    if data.gender and data.gender not in GENDERS:
        raise InvalidInput("gender is not known", "input.gender")
    validation.capped_list(data.tags, "input.tags", 50)
    tags = sorted({validation.text(t, "input.tags", max_len=50) for t in data.tags})
    return Enrolment(
        external_id=external_id,
        display_name=display_name,
        phone=phone,
        email=email,
        birthday=data.birthday,
        gender=data.gender,
        referral_code=data.referral_code.strip().upper() if data.referral_code else None,
        tags=tags,
    )


async def create_member(data: Enrolment, referred_by: Member | None = None) -> Member:
    """Insert a validated member with a fresh referral code (inside the caller's transaction)."""
    if await Member.filter(external_id=data.external_id).exists():
        raise AlreadyExists("a member with this externalId exists", "input.externalId")
    for _ in range(5):
        code = ids.code(REFERRAL_CODE_LENGTH)
        if not await Member.filter(referral_code=code).exists():
            break
    try:
        return await Member.create(
            external_id=data.external_id,
            display_name=data.display_name,
            phone=data.phone,
            email=data.email,
            birthday=data.birthday,
            gender=data.gender,
            tags=data.tags,
            enrolled_at=clock.now(),
            referral_code=code,
            referred_by=referred_by,
        )
    except IntegrityError as exc:  # a concurrent enrolment won the externalId
        raise AlreadyExists("a member with this externalId exists", "input.externalId") from exc


async def get_member(member_id: int) -> Member:
    member = await Member.get_or_none(id=member_id)
    if member is None:
        raise NotFound("member not found")
    return member


async def get_by_external_id(external_id: str, field: str = "input.memberExternalId") -> Member:
    member = await Member.get_or_none(external_id=external_id)
    if member is None:
        raise NotFound(f"no member with externalId {external_id!r}", field)
    return member


async def find_member(member_id: int | None, external_id: str | None) -> Member | None:
    if member_id is None and external_id is None:
        raise InvalidInput("give id or externalId", "id")
    query = Member.all()
    if member_id is not None:
        query = query.filter(id=member_id)
    if external_id is not None:
        query = query.filter(external_id=external_id)
    return await query.first()


@dataclass
class MemberPage:
    total: int
    members: list[Member]
    has_next: bool


def search_filter(search: str | None) -> Q:
    if not search:
        return Q()
    term = search.strip()
    where = Q(display_name__icontains=term) | Q(email__icontains=term) | Q(external_id=term)
    # Phones are stored normalized (0901234567), so "+84 901 234" must match too.
    digits = re.sub(r"[\s().-]", "", term)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    if len(digits) >= 3 and digits.isdigit():
        where |= Q(phone__contains=digits)
    return where


async def list_members(
    first: int,
    after: str | None,
    *,
    search: str | None = None,
    extra: Q | None = None,
) -> MemberPage:
    """Members by id, keyset-paginated; `extra` narrows (tier, segment filters)."""
    if not 0 <= first <= validation.MAX_LIST:
        raise InvalidInput(f"first must be 0..{validation.MAX_LIST}", "first")
    where = search_filter(search) & (extra or Q())
    query = Member.filter(where)
    total = await query.count()
    if after:
        try:
            (after_id,) = ids.decode_cursor(after)
            query = query.filter(id__gt=int(after_id))
        except ValueError as exc:
            raise InvalidInput("after is not a cursor from this list", "after") from exc
    rows = await query.order_by("id").limit(first + 1)
    return MemberPage(total=total, members=rows[:first], has_next=len(rows) > first)


async def enroll(data: Enrolment) -> Member:
    """Validate and enrol a member (referral rules and welcome points come with rewards)."""
    data = validate_enrolment(data)
    async with unit_of_work():
        referrer = None
        if data.referral_code:
            referrer = await Member.get_or_none(referral_code=data.referral_code)
            if referrer is None:
                raise ReferralRejected("unknown referral code", "input.referralCode")
        return await create_member(data, referrer)
