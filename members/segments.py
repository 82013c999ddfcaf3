"""Segments: named groups of members, by rules over their attributes or as a fixed list.

Rules (all optional; the rules given are combined with AND; a list rule matches a member
who has ANY of its values):

    tier_codes           the member holds one of these tiers
    birthday_month       1..12, in the member's birthday
    rfm_segments         the member's current RFM segment is one of these
    min_lifetime_points  lifetime points earned >= this
    inactive_days        no order in the last N days (a member who never ordered counts)
    tags                 the member carries one of these tags

A rule segment stores no members: each rule becomes a SQL filter (a Q over Member, mostly
`id IN (subquery)`), so counts and lists are exact at query time and nothing loops over
members in Python. A fixed-list segment stores its members (SegmentMember rows).

birthday_month and tags read the member's own columns and are built here. The other
rules read tables of higher packages (tiers, the ledger, orders, RFM scores); those
packages' filters are registered with `register_rule` (engage.segment_rules, wired by the
server), so members never imports them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, RawSQL, Subquery

from core import clock, validation
from core.errors import AlreadyExists, InvalidInput, NotFound
from core.events import unit_of_work
from core.sql import dialect
from members import service
from members.models import Member
from members.segment_models import Segment, SegmentMember

MAX_FIXED_MEMBERS = 10_000
MAX_RULE_VALUES = 50
_SHOWN_UNKNOWN = 20


@dataclass
class SegmentRules:
    tier_codes: list[str] | None = None
    birthday_month: int | None = None
    rfm_segments: list[str] | None = None
    min_lifetime_points: int | None = None
    inactive_days: int | None = None
    tags: list[str] | None = None

    def given(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Rule:
    """How one rule is checked on input and turned into a filter over Member."""

    check: Callable[[Any, str], Any]
    build: Callable[[Any], Awaitable[Q]]


_RULES: dict[str, Rule] = {}


def register_rule(name: str, rule: Rule) -> None:
    if name not in {f.name for f in fields(SegmentRules)}:
        raise ValueError(f"no segment rule named {name}")
    _RULES[name] = rule


def _rule(name: str) -> Rule:
    rule = _RULES.get(name)
    if rule is None:
        raise RuntimeError(f"segment rule {name} is not wired (server.wiring.wire())")
    return rule


# --------------------------------------------------------------------------- built-in rules


def sql_text(value: str) -> str:
    """A SQL string literal (standard quoting, valid on SQLite and PostgreSQL)."""
    return "'" + value.replace("'", "''") + "'"


def check_text_list(values: list[str], where: str) -> list[str]:
    if not values:
        raise InvalidInput("give at least one value, or leave the rule out", where)
    validation.capped_list(values, where, MAX_RULE_VALUES)
    return sorted({validation.text(v, where, max_len=50) for v in values})


def _check_month(value: int, where: str) -> int:
    if not 1 <= value <= 12:
        raise InvalidInput("birthdayMonth must be 1..12", where)
    return value


async def _birthday_month(month: int) -> Q:
    if dialect() == "postgres":
        expr = f"EXTRACT(MONTH FROM birthday) = {int(month)}"
    else:
        expr = f"CAST(strftime('%m', birthday) AS INTEGER) = {int(month)}"
    return Q(id__in=RawSQL(f"(SELECT id FROM member WHERE birthday IS NOT NULL AND {expr})"))


async def _tags(tags: list[str]) -> Q:
    literals = ", ".join(sql_text(t) for t in tags)
    if dialect() == "postgres":
        sql = f"(SELECT id FROM member WHERE jsonb_exists_any(tags, ARRAY[{literals}]))"
    else:
        sql = f"(SELECT m.id FROM member m, json_each(m.tags) t WHERE t.value IN ({literals}))"
    return Q(id__in=RawSQL(sql))


register_rule("birthday_month", Rule(_check_month, _birthday_month))
register_rule("tags", Rule(check_text_list, _tags))


# --------------------------------------------------------------------------- segments


def validate_rules(rules: SegmentRules) -> SegmentRules:
    checked = {
        name: _rule(name).check(value, f"rules.{name}") for name, value in rules.given().items()
    }
    return SegmentRules(**checked)


async def _member_ids(external_ids: list[str]) -> list[int]:
    """Ids of the named members; every unknown externalId is reported, nothing is made."""
    where = "member_external_ids"
    wanted = sorted({e.strip() for e in external_ids if e.strip()})
    if not wanted:
        raise InvalidInput("memberExternalIds is empty", where)
    validation.capped_list(wanted, where, MAX_FIXED_MEMBERS)
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start : start + 1000]
        found.update(
            await Member.filter(external_id__in=chunk).values_list("external_id", "id")  # type: ignore[arg-type]
        )
    unknown = [e for e in wanted if e not in found]
    if unknown:
        shown = ", ".join(unknown[:_SHOWN_UNKNOWN])
        more = f" and {len(unknown) - _SHOWN_UNKNOWN} more" if len(unknown) > _SHOWN_UNKNOWN else ""
        raise InvalidInput(f"unknown member externalIds: {shown}{more}", where)
    return [found[e] for e in wanted]


async def create_segment(
    name: str, rules: SegmentRules | None, member_external_ids: list[str] | None
) -> Segment:
    """A rule segment or a fixed list (exactly one of them); bad input writes nothing."""
    name = validation.text(name, "name", max_len=100)
    if (rules is None) == (member_external_ids is None):
        raise InvalidInput("give either rules or memberExternalIds", "rules")
    checked = validate_rules(rules) if rules is not None else None
    member_ids = await _member_ids(member_external_ids) if member_external_ids is not None else []
    try:
        async with unit_of_work():
            if await Segment.filter(name=name).exists():
                raise AlreadyExists("a segment with this name exists", "name")
            segment = await Segment.create(
                name=name,
                rules=checked.given() if checked is not None else None,
                static=checked is None,
                created_at=clock.now(),
            )
            await SegmentMember.bulk_create(
                [SegmentMember(segment_id=segment.id, member_id=m) for m in member_ids],
                batch_size=1000,
            )
    except IntegrityError as exc:  # a concurrent create took the name
        raise AlreadyExists("a segment with this name exists", "name") from exc
    return segment


async def get_segment(segment_id: int, field: str = "segment_id") -> Segment:
    segment = await Segment.get_or_none(id=segment_id)
    if segment is None:
        raise NotFound("segment not found", field)
    return segment


async def list_segments() -> list[Segment]:
    return await Segment.all().order_by("id")


async def member_filter(segment: Segment) -> Q:
    """The Q over Member that selects exactly the segment's members now."""
    if segment.static:
        return Q(id__in=Subquery(SegmentMember.filter(segment_id=segment.id).values("member_id")))
    where = Q()
    for name, value in (segment.rules or {}).items():
        where &= await _rule(name).build(value)
    return where


async def filter_for(segment_id: int, field: str = "segment_id") -> Q:
    return await member_filter(await get_segment(segment_id, field))


async def count(segment: Segment) -> int:
    return await Member.filter(await member_filter(segment)).count()


async def counts(segment_ids: Iterable[int]) -> dict[int, int]:
    """memberCount of each segment (one COUNT per segment, exact now)."""
    return {s.id: await count(s) for s in await Segment.filter(id__in=list(segment_ids))}


async def containing(segment_ids: Iterable[int], member_id: int) -> set[int]:
    """Which of these segments hold the member now (one EXISTS per distinct segment)."""
    return {s for s in sorted(set(segment_ids)) if await contains(s, member_id)}


async def contains(segment_id: int, member_id: int) -> bool:
    """Is the member in the segment now? An unknown segment contains nobody."""
    segment = await Segment.get_or_none(id=segment_id)
    if segment is None:
        return False
    return await Member.filter(Q(id=member_id) & await member_filter(segment)).exists()


async def members_page(segment_id: int, first: int, after: str | None) -> service.MemberPage:
    return await service.list_members(first, after, extra=await filter_for(segment_id))
