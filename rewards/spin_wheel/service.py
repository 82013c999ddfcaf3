"""Spin wheels: defining them, each member's committed seed, free spins and daily count,
and the spin itself (pay or use a free spin, draw fairly, grant the prize).

Never over budget: a spin locks the member's state row for the wheel (so the daily
limit and free spins are counted alone), debits the cost, and takes a stocked prize
with a conditional update (`won < stock`, checked by the row count), all in one unit of
work. If a concurrent spin took the last unit first, that segment is left out and the
draw is repeated over what remains; the result records the segments it was drawn from,
so it still re-checks (rewards/spin_fairness.py).

Every spin counts towards the wheel's daily limit, free ones included; a free spin is
used before points whenever the member holds one for the wheel.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field

from tortoise.expressions import F

from core import clock, validation
from core.errors import Inactive, InvalidInput, LimitReached, NotFound, OutOfStock
from core.events import unit_of_work
from members.program import get_program
from rewards import spin_fairness
from rewards.badges import service as badges
from rewards.ledger import service as ledger
from rewards.ledger.reasons import Reason
from rewards.spin_wheel.models import SpinResult, SpinSegment, SpinState, SpinWheel
from rewards.vouchers import service as vouchers
from rewards.vouchers.models import Voucher, VoucherOffer

MAX_SEGMENTS = 100
MAX_WEIGHT = 1_000_000


@dataclass
class PrizeData:
    points: int | None = None
    voucher_offer_id: int | None = None
    spins: int | None = None
    badge_code: str | None = None


@dataclass
class SegmentData:
    label: str
    weight: int
    prize: PrizeData | None = None
    stock: int | None = None


@dataclass
class WheelData:
    name: str
    segments: list[SegmentData]
    cost_points: int | None = 0
    daily_limit: int | None = None
    active: bool | None = True


@dataclass
class Spun:
    result: SpinResult
    segment: SpinSegment
    voucher_code: str | None = None
    badge_awarded: bool = False


@dataclass
class Odds:
    """A wheel's segments, which of them can be drawn next, and their chances."""

    segments: list[SpinSegment]
    available: list[SpinSegment]
    probability: dict[int, float] = field(default_factory=dict)


# ---------------------------------------------------------------- admin


async def create_wheel(data: WheelData) -> SpinWheel:
    name = validation.text(data.name, "name")
    cost = validation.non_negative(data.cost_points or 0, "cost_points")
    if data.daily_limit is not None:
        validation.positive(data.daily_limit, "daily_limit")
    if not data.segments:
        raise InvalidInput("a wheel needs at least one segment", "segments")
    validation.capped_list(data.segments, "segments", MAX_SEGMENTS)
    rows = [await _segment_values(i, s) for i, s in enumerate(data.segments)]
    async with unit_of_work():
        wheel = await SpinWheel.create(
            name=name,
            cost_points=cost,
            daily_limit=data.daily_limit,
            active=True if data.active is None else data.active,
            created_at=clock.now(),
        )
        await SpinSegment.bulk_create([SpinSegment(wheel_id=wheel.id, **row) for row in rows])
    return wheel


async def _segment_values(index: int, s: SegmentData) -> dict[str, object]:
    where = f"segments.{index}"
    values: dict[str, object] = {
        "position": index,
        "label": validation.text(s.label, f"{where}.label", max_len=100),
        "weight": s.weight,
        "stock": s.stock,
    }
    if not 1 <= s.weight <= MAX_WEIGHT:
        raise InvalidInput(f"weight must be 1..{MAX_WEIGHT}", f"{where}.weight")
    if s.stock is not None:
        validation.non_negative(s.stock, f"{where}.stock")
    prize = s.prize
    if prize is None:
        return values
    given = [prize.points, prize.voucher_offer_id, prize.spins, prize.badge_code]
    if all(v is None for v in given):
        raise InvalidInput(
            "a prize needs points, a voucher offer, spins or a badge", f"{where}.prize"
        )
    if prize.points is not None:
        validation.positive(prize.points, f"{where}.prize.points")
    if prize.spins is not None:
        validation.positive(prize.spins, f"{where}.prize.spins")
    if prize.voucher_offer_id is not None:
        await vouchers.get_offer(prize.voucher_offer_id, f"{where}.prize.voucher_offer_id")
    if prize.badge_code is not None and not await badges.exists(prize.badge_code):
        raise NotFound("no badge with this code", f"{where}.prize.badge_code")
    values.update(
        prize_points=prize.points,
        prize_voucher_offer_id=prize.voucher_offer_id,
        prize_spins=prize.spins,
        prize_badge_code=prize.badge_code,
    )
    return values


async def get_wheel(wheel_id: int, where: str = "wheel_id") -> SpinWheel:
    wheel = await SpinWheel.get_or_none(id=wheel_id)
    if wheel is None:
        raise NotFound("no spin wheel with this id", where)
    return wheel


async def list_wheels(*, active_only: bool) -> list[SpinWheel]:
    query = SpinWheel.filter(active=True) if active_only else SpinWheel.all()
    return await query.order_by("id")


async def wheels_by_id(wheel_ids: list[int]) -> dict[int, SpinWheel]:
    return {w.id: w for w in await SpinWheel.filter(id__in=wheel_ids)}


# ---------------------------------------------------------------- odds


async def segments_of(wheel_ids: list[int]) -> dict[int, list[SpinSegment]]:
    found: dict[int, list[SpinSegment]] = {w: [] for w in wheel_ids}
    for s in await SpinSegment.filter(wheel_id__in=wheel_ids).order_by("wheel_id", "position"):
        found[s.wheel_id].append(s)
    return found


async def _offers_out_of_stock(segments: list[SpinSegment]) -> set[int]:
    offer_ids = {s.prize_voucher_offer_id for s in segments if s.prize_voucher_offer_id}
    if not offer_ids:
        return set()
    rows = await VoucherOffer.filter(id__in=offer_ids).filter(
        stock__isnull=False, claimed__gte=F("stock")
    )
    return {o.id for o in rows}


def odds(
    segments: list[SpinSegment], offers_gone: set[int], left_out: Set[int] = frozenset()
) -> Odds:
    """A segment is drawable while its own stock and its voucher offer's stock last; the
    others' weights are renormalised over what remains."""
    available = [
        s
        for s in segments
        if s.in_stock and s.prize_voucher_offer_id not in offers_gone and s.id not in left_out
    ]
    total = sum(s.weight for s in available)
    probability = {s.id: (s.weight / total if total else 0.0) for s in available}
    return Odds(segments, available, probability)


async def odds_of(wheel_ids: list[int]) -> dict[int, Odds]:
    by_wheel = await segments_of(wheel_ids)
    gone = await _offers_out_of_stock([s for segs in by_wheel.values() for s in segs])
    return {w: odds(segs, gone) for w, segs in by_wheel.items()}


# ---------------------------------------------------------------- member state


async def _ensure_states(member_id: int, wheel_ids: list[int]) -> None:
    """Commit a seed for each wheel the member has none for yet (a racing insert wins)."""
    await SpinState.bulk_create(
        [
            SpinState(member_id=member_id, wheel_id=w, server_seed=spin_fairness.new_server_seed())
            for w in wheel_ids
        ],
        ignore_conflicts=True,
    )


async def states_of(member_id: int, wheel_ids: list[int]) -> dict[int, SpinState]:
    """The member's state per wheel, creating (and so committing to a seed) where missing."""
    found = {
        s.wheel_id: s for s in await SpinState.filter(member_id=member_id, wheel_id__in=wheel_ids)
    }
    missing = [w for w in wheel_ids if w not in found]
    if missing:
        await _ensure_states(member_id, missing)
        for s in await SpinState.filter(member_id=member_id, wheel_id__in=missing):
            found[s.wheel_id] = s
    return found


async def states_for(pairs: list[tuple[int, int]]) -> dict[tuple[int, int], SpinState]:
    """States for (member_id, wheel_id) pairs (the DataLoader's fetch), creating missing ones."""
    by_member: dict[int, list[int]] = {}
    for member_id, wheel_id in pairs:
        by_member.setdefault(member_id, []).append(wheel_id)
    found: dict[tuple[int, int], SpinState] = {}
    for member_id, wheel_ids in by_member.items():
        for wheel_id, state in (await states_of(member_id, wheel_ids)).items():
            found[(member_id, wheel_id)] = state
    return found


def spins_today(state: SpinState, today: str) -> int:
    return state.spins_today if state.day_key == today else 0


async def today_key() -> str:
    return clock.day_key(clock.now(), (await get_program()).timezone)


async def grant_free_spins(member_id: int, wheel_id: int, spins: int) -> None:
    """Give a member free spins on a wheel (mission and stamp-card rewards, spin prizes)."""
    validation.positive(spins, "spins")
    async with unit_of_work():
        await get_wheel(wheel_id)
        await _ensure_states(member_id, [wheel_id])
        await SpinState.filter(member_id=member_id, wheel_id=wheel_id).update(
            free_spins=F("free_spins") + spins
        )


# ---------------------------------------------------------------- the spin


async def spin(member_id: int, wheel_id: int, client_seed: str) -> Spun:
    client_seed = validation.text(client_seed, "client_seed", max_len=128)
    async with unit_of_work():
        wheel = await get_wheel(wheel_id)
        if not wheel.active:
            raise Inactive("this wheel is switched off", "wheel_id")
        now = clock.now()
        today = clock.day_key(now, (await get_program()).timezone)
        await _ensure_states(member_id, [wheel_id])
        # The state row lock serializes this member's spins on this wheel: the daily
        # count, free spins, nonce and seed below are read and written alone.
        state = await SpinState.select_for_update().get(member_id=member_id, wheel_id=wheel_id)
        done_today = spins_today(state, today)
        if wheel.daily_limit is not None and done_today >= wheel.daily_limit:
            raise LimitReached(f"at most {wheel.daily_limit} spins a day on this wheel", "wheel_id")
        free = state.free_spins > 0
        cost = 0 if free else wheel.cost_points
        if cost:
            await ledger.debit(member_id, cost, Reason.SPIN, description=f"Spin: {wheel.name}")

        segment, draw, voucher = await _draw(member_id, wheel_id, state, client_seed)
        spun = Spun(
            result=SpinResult(
                member_id=member_id,
                wheel_id=wheel_id,
                segment_id=segment.id,
                won=segment.has_prize,
                points_spent=cost,
                used_free_spin=free,
                server_seed=state.server_seed,
                server_seed_hash=spin_fairness.seed_hash(state.server_seed),
                client_seed=client_seed,
                nonce=state.nonce,
                draw=[[s.id, s.weight] for s in draw],
                voucher_code=voucher.code if voucher else None,
                created_at=now,
            ),
            segment=segment,
            voucher_code=voucher.code if voucher else None,
        )
        await _grant(spun, member_id, wheel_id)
        await spun.result.save()

        state.free_spins += (-1 if free else 0) + (segment.prize_spins or 0)
        state.day_key = today
        state.spins_today = done_today + 1
        state.nonce += 1
        state.server_seed = spin_fairness.new_server_seed()  # committed for the next spin
        await state.save(
            update_fields=["free_spins", "day_key", "spins_today", "nonce", "server_seed"]
        )
        return spun


async def _draw(
    member_id: int, wheel_id: int, state: SpinState, client_seed: str
) -> tuple[SpinSegment, list[SpinSegment], Voucher | None]:
    """Draw over the segments in stock and take the prize's stock. A segment (or voucher
    offer) a concurrent spin emptied meanwhile is left out and the draw repeated over the
    rest, with the same seed, nonce and client seed."""
    segments = (await segments_of([wheel_id]))[wheel_id]
    gone = await _offers_out_of_stock(segments)
    left_out: set[int] = set()
    while True:
        pool = odds(segments, gone, left_out).available
        if not pool:
            raise OutOfStock("every prize of this wheel is gone", "wheel_id")
        index = spin_fairness.outcome(
            state.server_seed, client_seed, state.nonce, [s.weight for s in pool]
        )
        segment = pool[index]
        if segment.stock is not None:
            taken = await SpinSegment.filter(id=segment.id, won__lt=F("stock")).update(
                won=F("won") + 1
            )
            if not taken:
                left_out.add(segment.id)
                continue
        voucher = None
        if segment.prize_voucher_offer_id:
            try:
                # Writes nothing when the offer is out of stock.
                voucher = await vouchers.grant_voucher(
                    member_id, segment.prize_voucher_offer_id, f"spin:{wheel_id}"
                )
            except OutOfStock:
                if segment.stock is not None:
                    await SpinSegment.filter(id=segment.id).update(won=F("won") - 1)
                gone.add(segment.prize_voucher_offer_id)
                continue
        return segment, pool, voucher


async def _grant(spun: Spun, member_id: int, wheel_id: int) -> None:
    segment = spun.segment
    if segment.prize_points:
        await ledger.credit(
            member_id, segment.prize_points, Reason.SPIN, description=f"Spin prize: {segment.label}"
        )
    if segment.prize_badge_code:
        award = await badges.award(member_id, segment.prize_badge_code, f"spin:{wheel_id}")
        spun.badge_awarded = award is not None


# ---------------------------------------------------------------- other areas
