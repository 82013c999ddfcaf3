"""Referrals: who may refer whom, the referrer's commission on referee orders, the stats.

A referral is created at enrolment (rewards.enrolment) after `check_referrer` accepts the
code. For referralWindowDays after the referee enrolled, each completed order credits the
referrer floor(amount x referralRatePercent / 100 / pointValue) points (reason REFERRAL);
a refund reverses that commission in proportion. The referral is qualified once the
referee's first order completes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction

from tortoise import fields
from tortoise.functions import Count, Sum
from tortoise.models import Model

from core import clock
from core.errors import ReferralRejected
from members.models import Member
from members.program import get_program
from members.service import REFERRAL_CODE_LENGTH
from rewards.ledger import service as ledger
from rewards.ledger.reasons import Reason


class Referral(Model):
    id = fields.IntField(primary_key=True)
    referrer: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name="referrals_made", on_delete=fields.CASCADE
    )
    referrer_id: int
    referee: fields.OneToOneRelation[Member] = fields.OneToOneField(
        "loyalty.Member", related_name="referral", on_delete=fields.CASCADE
    )
    referee_id: int
    created_at = fields.DatetimeField()
    qualified_at = fields.DatetimeField(null=True)
    # Net commission paid to the referrer (credits minus refund reversals).
    points_earned = fields.IntField(default=0)

    class Meta:
        table = "referral"


class ReferralCommission(Model):
    id = fields.IntField(primary_key=True)
    referral: fields.ForeignKeyRelation[Referral] = fields.ForeignKeyField(
        "loyalty.Referral", related_name="commissions", on_delete=fields.CASCADE
    )
    referral_id: int
    order_id = fields.CharField(max_length=128, unique=True)
    amount = fields.DecimalField(max_digits=18, decimal_places=4)
    points = fields.IntField()
    refunded_amount = fields.DecimalField(max_digits=18, decimal_places=4, default=Decimal(0))
    reversed_points = fields.IntField(default=0)
    created_at = fields.DatetimeField()

    class Meta:
        table = "referral_commission"


__models__ = [Referral, ReferralCommission]


FIELD = "referral_code"


@dataclass(frozen=True)
class ReferralStats:
    count: int = 0
    qualified_count: int = 0
    points_earned: int = 0


async def check_referrer(code: str, phone: str | None, email: str | None) -> Member:
    """The member owning `code`, locked, if they may refer this newcomer; else REFERRAL_REJECTED.

    Runs inside the enrolment's transaction; the row lock makes concurrent enrolments with
    one code respect referralMaxPerMember.
    """
    code = code.strip().upper()
    referrer = None
    if 0 < len(code) <= REFERRAL_CODE_LENGTH and code.isalnum():
        referrer = await Member.select_for_update().get_or_none(referral_code=code)
    if referrer is None:
        raise ReferralRejected("unknown referral code", FIELD)
    if phone and referrer.phone and phone == referrer.phone:
        raise ReferralRejected("a member cannot refer their own phone number", FIELD)
    if email and referrer.email and email.lower() == referrer.email.lower():
        raise ReferralRejected("a member cannot refer their own email address", FIELD)
    cap = (await get_program()).referral_max_per_member
    if cap is not None and await Referral.filter(referrer_id=referrer.id).count() >= cap:
        raise ReferralRejected("this referrer has no referrals left", FIELD)
    return referrer


async def link(referrer: Member, referee: Member) -> Referral:
    return await Referral.create(
        referrer_id=referrer.id, referee_id=referee.id, created_at=clock.now()
    )


def commission(amount: Decimal, rate_percent: Decimal, point_value: Decimal) -> int:
    raw = Decimal(amount) * Decimal(rate_percent) / Decimal(100) / Decimal(point_value)
    return max(0, int(raw.to_integral_value(rounding=ROUND_FLOOR)))


async def on_referee_order(referee: Member, order_id: str, amount: Decimal, at: datetime) -> int:
    """Qualify the referral and pay the referrer's commission; returns the points credited."""
    referral = await Referral.select_for_update().get_or_none(referee_id=referee.id)
    if referral is None:
        return 0
    if referral.qualified_at is None:
        await Referral.filter(id=referral.id).update(qualified_at=clock.now())
    program = await get_program()
    if at > referee.enrolled_at + timedelta(days=program.referral_window_days):
        return 0
    if await ReferralCommission.exists(order_id=order_id):
        return 0
    points = commission(amount, program.referral_rate_percent, program.point_value)
    if points <= 0:
        return 0
    await ledger.credit(
        referral.referrer_id,
        points,
        Reason.REFERRAL,
        description=f"referral: order {order_id} of {referee.display_name}",
        order_id=order_id,
    )
    await ReferralCommission.create(
        referral_id=referral.id,
        order_id=order_id,
        amount=amount,
        points=points,
        created_at=clock.now(),
    )
    await Referral.filter(id=referral.id).update(points_earned=referral.points_earned + points)
    return points


async def on_referee_refund(referee: Member, order_id: str, refunded_amount: Decimal) -> int:
    """Reverse the commission of `order_id` in proportion to the amount refunded now.

    Cumulative, so partial refunds together reverse exactly what a full one would.
    Returns the points reversed.
    """
    row = await ReferralCommission.select_for_update().get_or_none(order_id=order_id)
    if row is None or refunded_amount <= 0:
        return 0
    referral = await Referral.select_for_update().get(id=row.referral_id)
    if referral.referee_id != referee.id:
        return 0
    amount = Decimal(row.amount)
    refunded = min(amount, Decimal(row.refunded_amount) + Decimal(refunded_amount))
    # Like the order's own points: what the kept part would not have earned goes back.
    kept = math.floor(
        Fraction(row.points) * (Fraction(amount) - Fraction(refunded)) / Fraction(amount)
    )
    target = row.points - kept
    reversing = max(0, target - row.reversed_points)
    await ReferralCommission.filter(id=row.id).update(
        refunded_amount=refunded, reversed_points=row.reversed_points + reversing
    )
    if reversing:
        await ledger.reverse(
            referral.referrer_id, order_id, reversing, f"refund of referral order {order_id}"
        )
        await Referral.filter(id=referral.id).update(
            points_earned=referral.points_earned - reversing
        )
    return reversing


async def stats(member_ids: list[int]) -> dict[int, ReferralStats]:
    """Referral counts and net commission per referrer (two queries, for DataLoaders)."""
    if not member_ids:
        return {}
    found: dict[int, dict[str, int]] = {m: {} for m in member_ids}
    for row in (
        await Referral.filter(referrer_id__in=member_ids)
        .annotate(n=Count("id"), points=Sum("points_earned"))
        .group_by("referrer_id")
        .values("referrer_id", "n", "points")
    ):
        found[row["referrer_id"]]["count"] = int(row["n"])
        found[row["referrer_id"]]["points_earned"] = int(row["points"] or 0)
    for row in (
        await Referral.filter(referrer_id__in=member_ids, qualified_at__isnull=False)
        .annotate(n=Count("id"))
        .group_by("referrer_id")
        .values("referrer_id", "n")
    ):
        found[row["referrer_id"]]["qualified_count"] = int(row["n"])
    return {m: ReferralStats(**values) for m, values in found.items()}
