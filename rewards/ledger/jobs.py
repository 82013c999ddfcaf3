"""Time-driven ledger work: pending points become spendable, old lots expire.

Both are idempotent: they act on lots still due (state PENDING, or remaining > 0) and
change them in the same transaction, under the member's account lock, so a second run
(or a second process) finds nothing left to do.
"""

from __future__ import annotations

from typing import Any

from tortoise.expressions import F

from core import clock
from core.events import emit, unit_of_work
from rewards import member_state
from rewards.ledger import accounts
from rewards.ledger.events import PointsChanged
from rewards.ledger.models import Lot, LotState
from rewards.ledger.reasons import Reason
from rewards.ledger.service import consume_lots

BATCH = 500


async def mature_pending() -> int:
    """Move due pending lots to available; return how many members changed."""
    now = clock.now()
    member_ids: list[Any] = await (
        Lot.filter(state=LotState.PENDING.value, available_at__lte=now)
        .distinct()
        .limit(BATCH)
        .values_list("member_id", flat=True)
    )
    changed = 0
    for member_id in sorted(set(member_ids)):
        if await _mature_member(int(member_id)):
            changed += 1
    return changed


async def _mature_member(member_id: int) -> bool:
    async with unit_of_work():
        now = clock.now()
        before = (await member_state.lock(member_id)).available
        lots = await Lot.filter(
            member_id=member_id, state=LotState.PENDING.value, available_at__lte=now
        ).order_by("earned_at", "id")
        if not lots:
            return False
        await Lot.filter(id__in=[lot.id for lot in lots], state=LotState.PENDING.value).update(
            state=LotState.AVAILABLE.value
        )
        total = sum(lot.remaining for lot in lots)
        if total == 0:
            return True
        await accounts.add(accounts.pending(member_id), -total)
        await accounts.add(accounts.available(member_id), total)
        await accounts.post(
            accounts.pending(member_id),
            accounts.available(member_id),
            total,
            Reason(lots[0].reason),
            member_id=member_id,
            internal=True,
            description="pending points became available",
            at=now,
            available_at=now,
        )
        if before < 0:
            # Points arriving while the balance is negative repay the debt first.
            await consume_lots(member_id, min(-before, total), LotState.AVAILABLE)
        emit(
            PointsChanged(
                member_id=member_id,
                balance=before + total,
                delta=total,
                reason=Reason(lots[0].reason),
                at=now,
                earned=0,
            )
        )
        return True


async def expire_points() -> int:
    """Expire what remains of lots past their expiry; return how many members changed."""
    now = clock.now()
    member_ids: list[Any] = await (
        Lot.filter(expires_at__lte=now, remaining__gt=0)
        .distinct()
        .limit(BATCH)
        .values_list("member_id", flat=True)
    )
    changed = 0
    for member_id in sorted(set(member_ids)):
        if await _expire_member(int(member_id)):
            changed += 1
    return changed


async def _expire_member(member_id: int) -> bool:
    async with unit_of_work():
        now = clock.now()
        before = (await member_state.lock(member_id)).available
        lots = await Lot.filter(member_id=member_id, expires_at__lte=now, remaining__gt=0)
        if not lots:
            return False
        await accounts.ensure_system()
        expired = {LotState.AVAILABLE.value: 0, LotState.PENDING.value: 0}
        for lot in lots:
            expired[lot.state] += lot.remaining
        await Lot.filter(id__in=[lot.id for lot in lots]).update(
            expired=F("expired") + F("remaining"), remaining=0
        )
        for state, key in (
            (LotState.AVAILABLE.value, accounts.available(member_id)),
            (LotState.PENDING.value, accounts.pending(member_id)),
        ):
            points = expired[state]
            if not points:
                continue
            await accounts.add(key, -points)
            await accounts.post(
                key,
                accounts.EXPIRED,
                points,
                Reason.EXPIRY,
                member_id=member_id,
                delta=-points,
                description="points expired",
                at=now,
            )
        total = sum(expired.values())
        await accounts.add(accounts.EXPIRED, total)
        emit(
            PointsChanged(
                member_id=member_id,
                balance=before - expired[LotState.AVAILABLE.value],
                delta=-total,
                reason=Reason.EXPIRY,
                at=now,
                earned=0,
            )
        )
        return True
