"""The program's issuance budget (placeholder until the ledger issue lands)."""

from __future__ import annotations

from core.errors import InvalidInput
from core.events import unit_of_work
from members import program as program_service
from members.models import DEFAULT_ISSUANCE_BUDGET, Program


async def remaining() -> int:
    return DEFAULT_ISSUANCE_BUDGET


async def update_program_and_budget(
    changes: program_service.ProgramChanges, top_up: int | None
) -> Program:
    async with unit_of_work():
        program = await program_service.update_program(changes)
        if top_up:
            raise InvalidInput(
                "issuance budget top-ups arrive with the ledger", "input.issuanceBudgetTopUp"
            )
    return program
