"""Birthday points: once per year, in the member's birthday month (program zone), by a job.

A BirthdayCredit row per (member, year), unique, is written with the credit in one
transaction, so reruns and concurrent runs never pay twice.
"""

from __future__ import annotations

from contextlib import suppress

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.expressions import RawSQL, Subquery
from tortoise.models import Model

from core import clock
from core.errors import BudgetExhausted
from core.events import unit_of_work
from core.sql import dialect
from members.models import Member
from members.program import get_program
from rewards.ledger import service as ledger
from rewards.ledger.reasons import Reason


class BirthdayCredit(Model):
    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "loyalty.Member", related_name="birthday_credits", on_delete=fields.CASCADE
    )
    member_id: int
    year = fields.IntField()
    points = fields.IntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "birthday_credit"
        unique_together = (("member_id", "year"),)


__models__ = [BirthdayCredit]


BATCH = 500


def _month_sql() -> str:
    if dialect() == "postgres":
        return "CAST(EXTRACT(MONTH FROM birthday) AS INTEGER)"
    return "CAST(strftime('%m', birthday) AS INTEGER)"


async def credit_birthdays() -> int:
    """Pay birthdayPoints to members in their birthday month not yet paid this year.

    Returns how many members were paid. Idempotent.
    """
    program = await get_program()
    if program.birthday_points <= 0:
        return 0
    today = clock.local_today(program.timezone)
    paid = 0
    last_id = 0
    while True:
        ids = [
            int(row["id"])
            for row in await Member.filter(birthday__isnull=False, id__gt=last_id)
            .annotate(birth_month=RawSQL(_month_sql()))
            .filter(birth_month=today.month)
            .exclude(id__in=Subquery(BirthdayCredit.filter(year=today.year).values("member_id")))
            .order_by("id")
            .limit(BATCH)
            .values("id")
        ]
        if not ids:
            return paid
        for member_id in ids:
            with suppress(IntegrityError):  # another process paid this member just now
                async with unit_of_work():
                    await BirthdayCredit.create(
                        member_id=member_id,
                        year=today.year,
                        points=program.birthday_points,
                        created_at=clock.now(),
                    )
                    await ledger.credit(
                        member_id,
                        program.birthday_points,
                        Reason.BIRTHDAY,
                        description=f"happy birthday {today.year}",
                    )
                paid += 1
        last_id = ids[-1]
    return paid


async def safe_credit_birthdays() -> int:
    """The job's entry point: an exhausted budget pauses birthday points, not the job loop."""
    with suppress(BudgetExhausted):
        return await credit_birthdays()
    return 0
