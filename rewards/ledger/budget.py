"""The program's issuance budget: what may still be credited, and top-ups/withdrawals.

The budget is the balance of the issuance accounts (shards, see accounts.py): top-ups move
points in from the authorised account, spread evenly over the shards; every credit draws on
its member's shard (a conditional UPDATE, so concurrent credits cannot overdraw it) and
clawbacks return to it.
"""

from __future__ import annotations

from core.errors import InvalidInput
from core.events import unit_of_work
from members import program as program_service
from members.models import Program
from rewards.ledger import accounts
from rewards.ledger.reasons import Reason
from rewards.tiers import service as tiers


async def remaining() -> int:
    return await accounts.remaining_budget()


async def top_up(points: int) -> None:
    """Add to (points > 0) or withdraw from (points < 0) the issuance budget."""
    if points == 0:
        return
    async with unit_of_work():
        await accounts.ensure_system()
        balances = await accounts.lock_shards()
        if points < 0 and sum(balances.values()) < -points:
            raise InvalidInput(
                "cannot withdraw more than the budget has left", "issuance_budget_top_up"
            )
        keys = sorted(balances)
        per_shard, rest = divmod(abs(points), len(keys))
        for n, key in enumerate(keys):
            amount = per_shard + (rest if n == 0 else 0)
            if points > 0:
                await _move(accounts.AUTHORISED, key, amount, "issuance budget top-up")
        if points < 0:
            # Withdraw from the fullest shards first: none may go below zero.
            left = -points
            for key in sorted(keys, key=lambda k: -balances[k]):
                amount = min(left, balances[key])
                await _move(key, accounts.AUTHORISED, amount, "issuance budget withdrawal")
                left -= amount
                if not left:
                    break


async def _move(source: str, target: str, amount: int, description: str) -> None:
    if amount <= 0:
        return
    await accounts.add(source, -amount)
    await accounts.add(target, amount)
    await accounts.post(source, target, amount, Reason.ADJUSTMENT, description=description)


async def update_program_and_budget(
    changes: program_service.ProgramChanges, top_up_points: int | None
) -> Program:
    async with unit_of_work():
        before = (await program_service.load_definitions()).tier_window
        program = await program_service.update_program(changes)
        if program.tier_window != before:
            await tiers.window_changed()
        if top_up_points:
            await top_up(int(top_up_points))
    return program
