"""The segment rules that read tables above members/: tiers, the ledger, orders, RFM.

`register()` (called by server.wiring) hands them to members.segments. Each becomes a
filter over Member with a subquery, so a segment is counted and listed in SQL.

Choices: a tier rule matches holders of any listed tier (T's tier filter, so the
threshold-0 starting tier includes everyone without a higher one; an unknown tier code
matches nobody). `min_lifetime_points` compares the sum of the member's earned points
(what lifetimePoints shows); 0 matches everyone. `inactive_days` counts orders not
refunded in full: a member whose last such order is older than N days, or who has none,
is inactive.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from tortoise.expressions import Q, RawSQL, Subquery

from core import clock, validation
from core.errors import InvalidInput
from engage import rfm
from engage.models import MemberRfm
from members import segments
from rewards.orders.models import OrderStatus
from rewards.tiers import service as tiers


async def _tier_codes(codes: list[str]) -> Q:
    where = Q(id__in=[])
    for code in codes:
        where |= await tiers.member_filter(code)
    return where


def _check_rfm(values: list[str], where: str) -> list[str]:
    names = [v.strip().upper() for v in segments.check_text_list(values, where)]
    unknown = [n for n in names if n not in rfm.SEGMENTS]
    if unknown:
        raise InvalidInput(
            f"unknown RFM segments {', '.join(unknown)}; known: {', '.join(rfm.SEGMENTS)}", where
        )
    return sorted(set(names))


async def _rfm_segments(names: list[str]) -> Q:
    return Q(id__in=Subquery(MemberRfm.filter(segment__in=names).values("member_id")))


def _check_non_negative(value: int, where: str) -> int:
    return validation.non_negative(value, where)


def _check_days(value: int, where: str) -> int:
    if not 1 <= value <= 36_500:
        raise InvalidInput("inactiveDays must be 1..36500", where)
    return value


async def _min_lifetime_points(points: int) -> Q:
    if points <= 0:
        return Q()
    return Q(id__in=RawSQL(f"(SELECT member_id FROM member_state WHERE lifetime >= {int(points)})"))


async def _inactive_days(days: int) -> Q:
    # NOT EXISTS over the orders' (member_id, occurred_at) index: a NOT IN over every
    # recent order is run row by row by PostgreSQL once it outgrows work_mem. The
    # timestamp is written as the database stores it (UTC ISO text on SQLite).
    since = (clock.now() - timedelta(days=days)).astimezone(UTC).isoformat(" ")
    return Q(
        id__in=RawSQL(
            "(SELECT m.id FROM member m WHERE NOT EXISTS (SELECT 1 FROM orders o"
            f" WHERE o.member_id = m.id AND o.occurred_at >= '{since}'"
            f" AND o.status <> '{OrderStatus.REFUNDED.value}'))"
        )
    )


def register() -> None:
    rules: dict[str, Any] = {
        "tier_codes": segments.Rule(segments.check_text_list, _tier_codes),
        "rfm_segments": segments.Rule(_check_rfm, _rfm_segments),
        "min_lifetime_points": segments.Rule(_check_non_negative, _min_lifetime_points),
        "inactive_days": segments.Rule(_check_days, _inactive_days),
    }
    for name, rule in rules.items():
        segments.register_rule(name, rule)
