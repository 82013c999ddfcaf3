"""The program's issuance budget: what may still be credited, and top-ups/withdrawals.

The budget is the balance of the issuance account: top-ups move points in from the
authorised account, every credit draws on it (a conditional UPDATE, so concurrent
credits cannot overdraw it) and clawbacks return to it.
"""

from __future__ import annotations

from typing import Any

from core.errors import InvalidInput
from core.events import unit_of_work
from members import program as program_service
from members.models import DEFAULT_ISSUANCE_BUDGET, Program
from rewards.ledger import accounts
from rewards.ledger.models import Account
from rewards.ledger.reasons import Reason


async def remaining() -> int:
    value: list[Any] = await Account.filter(key=accounts.ISSUANCE).values_list("balance", flat=True)
    return int(value[0]) if value else DEFAULT_ISSUANCE_BUDGET


async def top_up(points: int) -> None:
    """Add to (points > 0) or withdraw from (points < 0) the issuance budget."""
    if points == 0:
        return
    async with unit_of_work():
        await accounts.ensure_system()
        if points > 0:
            await accounts.add(accounts.ISSUANCE, points)
            await accounts.add(accounts.AUTHORISED, -points)
            source, target, description = (
                accounts.AUTHORISED,
                accounts.ISSUANCE,
                "issuance budget top-up",
            )
        else:
            if not await accounts.take(accounts.ISSUANCE, -points):
                raise InvalidInput(
                    "cannot withdraw more than the budget has left", "input.issuanceBudgetTopUp"
                )
            await accounts.add(accounts.AUTHORISED, -points)
            source, target, description = (
                accounts.ISSUANCE,
                accounts.AUTHORISED,
                "issuance budget withdrawal",
            )
        await accounts.post(source, target, abs(points), Reason.ADJUSTMENT, description=description)


async def update_program_and_budget(
    changes: program_service.ProgramChanges, top_up_points: int | None
) -> Program:
    async with unit_of_work():
        program = await program_service.update_program(changes)
        if top_up_points:
            await top_up(int(top_up_points))
    return program
