"""Members: the enrolment's data and checks, lookup and search (enrolling itself, with its
rewards, is rewards.enrolment).

An erased member (engage.erasure) keeps its row under a pseudonym for the books, but no
lookup here finds it: not by id, externalId, card or search. A request made with one of its
old tokens that looks the member up (`get_member`) is refused (UNAUTHENTICATED).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from core import clock, ids, validation
from core.errors import (
    AlreadyExists,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
)
from members import cards
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
    city: str | None = None


def check_birthday(value: date, field: str) -> date:
    if value > clock.now().date():
        raise InvalidInput("birthday cannot be in the future", field)
    return value


def check_gender(value: str, field: str) -> str:
    if value not in GENDERS:
        raise InvalidInput("gender is not known", field)
    return value


def check_city(value: str, field: str) -> str:
    return validation.text(value, field, max_len=100)


def validate_enrolment(data: Enrolment) -> Enrolment:
    """Normalize and check every field; raise InvalidInput naming the first bad one."""
    external_id = data.external_id.strip()
    if not 1 <= len(external_id) <= 128 or not set(external_id) <= _EXTERNAL_ID_CHARS:
        raise InvalidInput("externalId must be 1..128 letters, digits or . _ : -", "external_id")
    display_name = validation.text(data.display_name, "display_name", max_len=100)
    phone = validation.phone(data.phone, "phone") if data.phone else None
    email = validation.email(data.email, "email") if data.email else None
    if data.birthday:
        check_birthday(data.birthday, "birthday")
    if data.gender:
        check_gender(data.gender, "gender")
    city = check_city(data.city, "city") if data.city and data.city.strip() else None
    validation.capped_list(data.tags, "tags", 50)
    tags = sorted({validation.text(t, "tags", max_len=50) for t in data.tags})
    return Enrolment(
        external_id=external_id,
        display_name=display_name,
        phone=phone,
        email=email,
        birthday=data.birthday,
        gender=data.gender,
        referral_code=data.referral_code.strip().upper() if data.referral_code else None,
        tags=tags,
        city=city,
    )


async def create_member(data: Enrolment, referred_by: Member | None = None) -> Member:
    """Insert a validated member with a fresh referral code (inside the caller's transaction)."""
    if await Member.filter(external_id=data.external_id).exists():
        raise AlreadyExists("a member with this externalId exists", "external_id")
    code = await unused_referral_code()
    card_code = await cards.unused_code()
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
            card_code=card_code,
            city=data.city,
        )
    except IntegrityError as exc:  # a concurrent enrolment won the externalId
        raise AlreadyExists("a member with this externalId exists", "external_id") from exc


async def unused_referral_code() -> str:
    for _ in range(5):
        code = ids.code(REFERRAL_CODE_LENGTH)
        if not await Member.filter(referral_code=code).exists():
            break
    return code


async def get_member(member_id: int, *, include_erased: bool = False) -> Member:
    """The member by id. An erased one is refused: every request acting as a member looks
    its member up here, so an erased member's old tokens stop working (UNAUTHENTICATED).
    Bookkeeping on an erased member's orders (refunds) passes include_erased=True."""
    member = await Member.get_or_none(id=member_id)
    if member is None:
        raise NotFound("member not found")
    if member.erased_at is not None and not include_erased:
        raise Unauthenticated("this member was erased; its tokens are revoked")
    return member


async def get_by_external_id(external_id: str, field: str = "member_external_id") -> Member:
    member = await Member.get_or_none(external_id=external_id, erased_at__isnull=True)
    if member is None:
        raise NotFound(f"no member with externalId {external_id!r}", field)
    return member


async def acting_on(
    viewer_member_id: int | None, external_id: str | None, field: str = "member_external_id"
) -> Member:
    """The member a call is about: a member's own (naming another is FORBIDDEN), or the one
    staff name by externalId (required for them)."""
    if viewer_member_id is not None:
        member = await get_member(viewer_member_id)
        if external_id is not None and external_id != member.external_id:
            raise Forbidden("members act only on their own profile", field)
        return member
    if not external_id:
        raise InvalidInput("memberExternalId is required with an API key", field)
    return await get_by_external_id(external_id, field)


async def find_member(member_id: int | None, external_id: str | None) -> Member | None:
    if member_id is None and external_id is None:
        raise InvalidInput("give id or externalId", "id")
    query = Member.filter(erased_at__isnull=True)
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
    # A card number typed into the search box finds its member too.
    if len(digits) == cards.LENGTH and digits.isdigit():
        where |= Q(card_code=digits)
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
    where = search_filter(search) & (extra or Q()) & Q(erased_at__isnull=True)
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


async def erased_ids() -> frozenset[int]:
    """The definitions snapshot's part: members erased (their tokens are refused)."""
    ids: list[Any] = await Member.filter(erased_at__isnull=False).values_list("id", flat=True)
    return frozenset(int(i) for i in ids)
