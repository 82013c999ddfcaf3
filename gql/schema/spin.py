"""Spin wheels: defining them, listing them with each member's odds and seed commitment,
and the provably fair spin."""

from __future__ import annotations

from datetime import datetime

import strawberry

from core.security import Role
from game import grants as game_rewards
from gql.context import Info
from gql.permissions import IsAdmin, IsMember, IsSignedIn
from gql.schema.game import Reward
from gql.schema.members import Member
from gql.types import Payload, from_input, from_row, mutation
from gql.validation import parse_id
from members import service as members
from rewards import spin_fairness
from rewards.spin_wheel import service
from rewards.spin_wheel.models import SpinResult as ResultModel
from rewards.spin_wheel.models import SpinSegment as SegmentModel
from rewards.spin_wheel.models import SpinWheel as WheelModel


@strawberry.type
class SpinSegment:
    model: strawberry.Private[SegmentModel]
    id: strawberry.ID
    label: str
    weight: int
    probability: float = strawberry.field(
        description="Chance of this segment on the next spin, after exhausted stock is left out."
    )

    @strawberry.field
    def stock_remaining(self) -> int | None:
        s = self.model
        return None if s.stock is None else max(s.stock - s.won, 0)

    @strawberry.field(description="Null = no win. Free spins are on this same wheel.")
    def prize(self) -> Reward | None:
        s = self.model
        if not s.has_prize:
            return None
        return from_row(
            Reward,
            game_rewards.Reward(
                points=s.prize_points,
                badge_code=s.prize_badge_code,
                spin_wheel_id=s.wheel_id if s.prize_spins else None,
                spins=s.prize_spins,
                voucher_offer_id=s.prize_voucher_offer_id,
            ),
        )


def segment_types(odds: service.Odds) -> list[SpinSegment]:
    return [
        from_row(SpinSegment, s, probability=odds.probability.get(s.id, 0.0)) for s in odds.segments
    ]


def _viewer_member(info: Info) -> int | None:
    viewer = info.context.viewer
    return viewer.member_id if viewer.role is Role.MEMBER else None


async def _today(info: Info) -> str:
    """The program's local day, read once per request however many wheels are listed."""
    extra = info.context.loaders.extra
    if "spin.today" not in extra:
        extra["spin.today"] = await service.today_key()
    return str(extra["spin.today"])


@strawberry.type
class SpinWheel:
    model: strawberry.Private[WheelModel]
    id: strawberry.ID
    name: str
    cost_points: int = strawberry.field(
        description="Points charged per spin when the member has no free spins."
    )
    daily_limit: int | None = strawberry.field(
        description="Most spins per member per local day; null = no cap."
    )
    active: bool

    @strawberry.field
    async def segments(self, info: Info) -> list[SpinSegment]:
        odds = await info.context.loaders.spin_odds.load(self.model.id)
        return segment_types(odds) if odds else []

    @strawberry.field(description="Member: spins left today (null = no cap).")
    async def spins_left_today(self, info: Info) -> int | None:
        member_id = _viewer_member(info)
        if self.model.daily_limit is None or member_id is None:
            return None
        state = await info.context.loaders.spin_state.load((member_id, self.model.id))
        done = service.spins_today(state, await _today(info)) if state else 0
        return max(self.model.daily_limit - done, 0)

    @strawberry.field(description="Member: free spins held for this wheel.")
    async def free_spins(self, info: Info) -> int:
        member_id = _viewer_member(info)
        if member_id is None:
            return 0
        state = await info.context.loaders.spin_state.load((member_id, self.model.id))
        return state.free_spins if state else 0

    @strawberry.field(
        description="Member: SHA-256 hex of the server seed that the next spin will use."
    )
    async def next_seed_hash(self, info: Info) -> str | None:
        member_id = _viewer_member(info)
        if member_id is None:
            return None
        state = await info.context.loaders.spin_state.load((member_id, self.model.id))
        return spin_fairness.seed_hash(state.server_seed) if state else None

    @strawberry.field(description="Member: the nonce the next spin will use.")
    async def next_nonce(self, info: Info) -> int | None:
        member_id = _viewer_member(info)
        if member_id is None:
            return None
        state = await info.context.loaders.spin_state.load((member_id, self.model.id))
        return state.nonce if state else None


@strawberry.type(description="One segment the spin was drawn over, in wheel order.")
class SpinDrawEntry:
    segment_id: strawberry.ID
    weight: int


@strawberry.type
class SpinResult:
    model: strawberry.Private[ResultModel]
    id: strawberry.ID

    async def _segment(self, info: Info) -> SpinSegment:
        odds = await info.context.loaders.spin_odds.load(self.model.wheel_id)
        assert odds is not None, "a result's wheel exists"
        return next(s for s in segment_types(odds) if s.model.id == self.model.segment_id)

    segment: SpinSegment = strawberry.field(resolver=_segment)
    won: bool
    points_spent: int
    used_free_spin: bool
    server_seed: str = strawberry.field(
        description="Revealed seed; SHA-256 of it equals the hash shown before the spin."
    )
    server_seed_hash: str = strawberry.field(
        description="SHA-256 hex of serverSeed: the nextSeedHash shown before."
    )
    client_seed: str
    nonce: int

    def _draw(self) -> list[SpinDrawEntry]:
        return [
            SpinDrawEntry(segment_id=strawberry.ID(str(sid)), weight=w)
            for sid, w in self.model.draw
        ]

    draw: list[SpinDrawEntry] = strawberry.field(
        resolver=_draw,
        description="The in-stock segments the outcome was drawn over, in wheel order.",
    )
    voucher_code: str | None = strawberry.field(
        description="Code of the voucher won, if the prize was one."
    )
    created_at: datetime


@strawberry.input
class PrizeInput:
    points: int | None = None
    voucher_offer_id: strawberry.ID | None = None
    spins: int | None = None
    badge_code: str | None = None


@strawberry.input
class SpinSegmentInput:
    label: str
    weight: int
    prize: PrizeInput | None = strawberry.field(default=None, description="Null prize = no win.")
    stock: int | None = strawberry.field(
        default=None, description="Most times this segment may be won in total; null = unlimited."
    )


@strawberry.input
class SpinWheelInput:
    name: str
    segments: list[SpinSegmentInput]
    cost_points: int | None = strawberry.field(
        default=0, description="Points charged per spin when the member has no free spins."
    )
    daily_limit: int | None = strawberry.field(
        default=None, description="Most spins per member per local day; null = no cap."
    )
    active: bool | None = True

    def to_data(self) -> service.WheelData:
        segments = []
        for i, s in enumerate(self.segments):
            prize = None
            if s.prize is not None:
                where = f"input.segments.{i}.prize.voucherOfferId"
                offer_id = parse_id(s.prize.voucher_offer_id, where)
                prize = from_input(service.PrizeData, s.prize, voucher_offer_id=offer_id)
            segments.append(from_input(service.SegmentData, s, prize=prize))
        return from_input(service.WheelData, self, segments=segments)


@strawberry.type
class SpinWheelPayload(Payload):
    wheel: SpinWheel | None = None


@strawberry.type
class SpinPayload(Payload):
    result: SpinResult | None = None
    member: Member | None = None


@strawberry.type
class Query:
    @strawberry.field(
        permission_classes=[IsSignedIn],
        description="Active wheels for members; every wheel for staff.",
    )
    async def spin_wheels(self, info: Info) -> list[SpinWheel]:
        member = _viewer_member(info) is not None
        return [from_row(SpinWheel, w) for w in await service.list_wheels(active_only=member)]


@strawberry.type
class Mutation:
    @mutation(IsAdmin)
    async def create_spin_wheel(self, info: Info, input: SpinWheelInput) -> SpinWheelPayload:
        return SpinWheelPayload(
            wheel=from_row(SpinWheel, await service.create_wheel(input.to_data()))
        )

    @mutation(IsMember)
    async def spin(self, info: Info, wheel_id: strawberry.ID, client_seed: str) -> SpinPayload:
        member_id = info.context.member_id
        spun = await service.spin(member_id, parse_id(wheel_id, "wheelId"), client_seed)
        return SpinPayload(
            result=from_row(SpinResult, spun.result),
            member=from_row(Member, await members.get_member(member_id)),
        )
