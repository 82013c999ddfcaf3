"""One DataLoader set per request, so a list's SQL count does not grow with its length."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from decimal import Decimal
from functools import cached_property
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from engage import rfm
from engage.models import MemberRfm
from game.missions import definitions as missions
from members import segments
from members.models import Member
from rewards import referrals, standing
from rewards.badges import service as badges
from rewards.ledger import service as ledger
from rewards.spin_wheel import service as spins
from rewards.spin_wheel.models import SpinState, SpinWheel
from rewards.tiers import service as tiers
from rewards.vouchers import service as vouchers
from rewards.vouchers.models import VoucherOffer

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def keyed(
    fetch: Callable[[list[K]], Awaitable[Iterable[tuple[K, V]]]], default: V | None = None
) -> DataLoader[K, V | None]:
    """A DataLoader from a function returning (key, value) pairs for the keys it found."""

    async def load(keys: Sequence[K]) -> list[V | None]:
        found = dict(await fetch(list(keys)))
        return [found.get(k, default) for k in keys]

    return DataLoader(load_fn=load)


async def _members(keys: list[int]) -> list[tuple[int, Member]]:
    return [(m.id, m) for m in await Member.filter(id__in=keys)]


async def _standings(keys: list[int]) -> Iterable[tuple[int, standing.Standing]]:
    return (await standing.of_members(keys)).items()


async def _expiring_soon(keys: list[int]) -> Iterable[tuple[int, int]]:
    return (await ledger.expiring_soon(keys)).items()


async def _referral_stats(keys: list[int]) -> Iterable[tuple[int, referrals.ReferralStats]]:
    return (await referrals.stats(keys)).items()


async def _voucher_offers(keys: list[int]) -> Iterable[tuple[int, VoucherOffer]]:
    return (await vouchers.offers_by_id(keys)).items()


async def _voucher_discounts(keys: list[int]) -> Iterable[tuple[int, Decimal]]:
    return (await vouchers.discount_percents(keys)).items()


async def _spin_wheels(keys: list[int]) -> Iterable[tuple[int, SpinWheel]]:
    return (await spins.wheels_by_id(keys)).items()


async def _spin_odds(keys: list[int]) -> Iterable[tuple[int, spins.Odds]]:
    return (await spins.odds_of(keys)).items()


async def _spin_states(keys: list[tuple[int, int]]) -> Iterable[tuple[tuple[int, int], SpinState]]:
    return (await spins.states_for(keys)).items()


async def _badges(keys: list[str]) -> Iterable[tuple[str, badges.Badge]]:
    return (await badges.by_codes(keys)).items()


async def _badge_awards(keys: list[int]) -> Iterable[tuple[int, list[badges.Held]]]:
    return (await badges.awards_of(keys)).items()


async def _mission_completions(keys: list[int]) -> Iterable[tuple[int, int]]:
    return (await missions.completions(keys)).items()


async def _rfm(keys: list[int]) -> Iterable[tuple[int, MemberRfm]]:
    return (await rfm.of_members(keys)).items()


async def _segment_counts(keys: list[int]) -> Iterable[tuple[int, int]]:
    return (await segments.counts(keys)).items()


class Loaders:
    """The request's DataLoaders, each built on first use (a request uses a few of them)."""

    def __init__(self) -> None:
        # Areas add their loaders here, built fresh for every request.
        self.extra: dict[str, Any] = {}

    @cached_property
    def member(self) -> DataLoader[int, Member | None]:
        return keyed(_members)

    @cached_property
    def standing(self) -> DataLoader[int, standing.Standing | None]:
        """Balances, lifetime and tier of members: one read (rewards/standing.py)."""
        return keyed(_standings)

    @cached_property
    def expiring_soon(self) -> DataLoader[int, int | None]:
        return keyed(_expiring_soon, 0)

    @cached_property
    def referral_stats(self) -> DataLoader[int, referrals.ReferralStats | None]:
        return keyed(_referral_stats)

    @cached_property
    def voucher_offer(self) -> DataLoader[int, VoucherOffer | None]:
        return keyed(_voucher_offers)

    @cached_property
    def voucher_discount(self) -> DataLoader[int, Decimal | None]:
        return keyed(_voucher_discounts)

    @cached_property
    def spin_wheel(self) -> DataLoader[int, SpinWheel | None]:
        return keyed(_spin_wheels)

    @cached_property
    def spin_odds(self) -> DataLoader[int, spins.Odds | None]:
        return keyed(_spin_odds)

    @cached_property
    def spin_state(self) -> DataLoader[tuple[int, int], SpinState | None]:
        """(member_id, wheel_id) -> the member's state on that wheel (its committed seed)."""
        return keyed(_spin_states)

    @cached_property
    def badge(self) -> DataLoader[str, badges.Badge | None]:
        return keyed(_badges)

    @cached_property
    def badge_awards(self) -> DataLoader[int, list[badges.Held] | None]:
        return keyed(_badge_awards)

    @cached_property
    def mission_completions(self) -> DataLoader[int, int | None]:
        return keyed(_mission_completions)

    @cached_property
    def rfm(self) -> DataLoader[int, MemberRfm | None]:
        return keyed(_rfm)

    @cached_property
    def segment_count(self) -> DataLoader[int, int | None]:
        return keyed(_segment_counts)

    @cached_property
    def tier_status(self) -> DataLoader[int, tiers.TierStatus | None]:
        """The tier of members, from their standing (the same read)."""

        async def tiers_of(keys: Sequence[int]) -> list[tiers.TierStatus | None]:
            found = await self.standing.load_many(keys)
            return [s.tier if s else None for s in found]

        return DataLoader(load_fn=tiers_of)
