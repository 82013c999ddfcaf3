"""Tier rules: qualification windows, upgrade at once, gentle demotion, refunds, benefits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core import clock
from core.errors import AlreadyExists, InvalidInput, NotFound
from rewards import earning
from rewards.member_state import MemberState
from rewards.tiers import service as tiers
from tests.rewards.checks import captured, member_messages, multiplier
from tests.rewards.factories import enrol, order, program, refund, standard_tiers

T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


async def tier_of(member_id: int) -> str | None:
    status = await tiers.status(member_id)
    return status.tier.code if status.tier else None


# ------------------------------------------------------------------ definitions


async def test_thresholds_are_unique_and_codes_upsert() -> None:
    await standard_tiers()
    with pytest.raises(AlreadyExists) as err:
        await tiers.upsert_tier(tiers.TierData("PLATINUM", "Platinum", 300))
    assert err.value.field == ["input", "threshold"]
    renamed = await tiers.upsert_tier(tiers.TierData("GOLD", "Gold Plus", 300))
    assert renamed.name == "Gold Plus"
    assert [t.code for t in await tiers.list_tiers()] == ["MEMBER", "SILVER", "GOLD"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (tiers.TierData("", "X", 10), "input.code"),
        (tiers.TierData("A B", "X", 10), "input.code"),
        (tiers.TierData("X", "X", -1), "input.threshold"),
        (tiers.TierData("X", "X", 1, earn_multiplier=Decimal(0)), "input.earnMultiplier"),
        (
            tiers.TierData("X", "X", 1, voucher_discount_percent=Decimal(101)),
            "input.voucherDiscountPercent",
        ),
        (tiers.TierData("X", "X", 1, perks=["p"] * 51), "input.perks"),
    ],
)
async def test_bad_tier_input_names_the_field_and_writes_nothing(
    data: tiers.TierData, field: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        await tiers.upsert_tier(data)
    assert err.value.field == field.split(".")
    assert await tiers.list_tiers() == []


async def test_deleting_a_tier_moves_its_holders_one_tier_down() -> None:
    await standard_tiers()
    m = await enrol()
    await order(m, 6_000_000)
    assert await tier_of(m.id) == "GOLD"
    await tiers.delete_tier("GOLD")
    state = await MemberState.get(member_id=m.id)
    assert state.tier_code == "SILVER"
    assert await tier_of(m.id) == "SILVER"
    with pytest.raises(NotFound):
        await tiers.delete_tier("GOLD")


# ------------------------------------------------------------------ qualification


async def test_everyone_starts_in_the_threshold_zero_tier() -> None:
    await standard_tiers()
    m = await enrol()
    status = await tiers.status(m.id)
    assert status.tier is not None and status.tier.code == "MEMBER"
    assert status.next_tier is not None and status.next_tier.code == "SILVER"
    assert (status.tier_points, status.tier_points_to_next, status.grace_until) == (0, 100, None)


async def test_orders_move_a_member_up_at_once_and_publish_tier_changed() -> None:
    await standard_tiers()
    m = await enrol()
    async with member_messages(m) as drain:
        await order(m, 2_000_000)
        assert await tier_of(m.id) == "SILVER"
        await order(m, 4_000_000)
        assert await tier_of(m.id) == "GOLD"
        changes = [msg for msg in await drain() if msg["type"] == "TierChanged"]
    assert [(c["from"], c["to"]) for c in changes] == [("MEMBER", "SILVER"), ("SILVER", "GOLD")]
    status = await tiers.status(m.id)
    assert (status.tier_points, status.next_tier, status.tier_points_to_next) == (300, None, 0)


async def test_a_jump_over_several_thresholds_lands_in_the_highest() -> None:
    await standard_tiers()
    m = await enrol()
    async with member_messages(m) as drain:
        await order(m, 7_000_000)
        changes = [msg for msg in await drain() if msg["type"] == "TierChanged"]
    assert [(c["from"], c["to"]) for c in changes] == [("MEMBER", "GOLD")]


async def test_tier_points_changed_carries_the_counted_total() -> None:
    await standard_tiers()
    m = await enrol()
    with captured(tiers.TierPointsChanged) as got:
        result = await order(m, 2_000_000)
        await order(m, 1_000_000)
        await refund(result.order.order_id, 1_000_000)
    assert [(e.member_id, e.delta, e.tier_points) for e in got] == [
        (m.id, 100, 100),
        (m.id, 50, 150),
        (m.id, -50, 100),
    ]


async def test_rolling_year_forgets_points_older_than_365_days() -> None:
    await standard_tiers()
    clock.freeze(T0)
    m = await enrol()
    await order(m, 2_000_000)
    clock.advance(timedelta(days=364))
    assert (await tiers.status(m.id)).tier_points == 100
    clock.advance(timedelta(days=2))
    assert (await tiers.status(m.id)).tier_points == 0


async def test_lifetime_keeps_every_tier_point() -> None:
    await standard_tiers()
    await program(tier_window="LIFETIME")
    clock.freeze(T0)
    m = await enrol()
    await order(m, 2_000_000)
    clock.advance(timedelta(days=800))
    assert (await tiers.status(m.id)).tier_points == 100


async def test_a_refund_leaves_the_rolling_window_with_the_order_it_undoes() -> None:
    await standard_tiers()
    clock.freeze(T0)
    m = await enrol()
    first = await order(m, 2_000_000)  # 100 tier points at T0
    clock.advance(timedelta(days=200))
    await order(m, 4_000_000)  # 200 at T0+200d
    clock.advance(timedelta(days=100))
    await refund(first.order.order_id)  # at T0+300d removes the T0 points
    assert (await tiers.status(m.id)).tier_points == 200
    clock.advance(timedelta(days=70))  # T0+370d: the T0 order and its refund both gone
    assert (await tiers.status(m.id)).tier_points == 200


async def test_backdated_orders_count_from_when_they_happened() -> None:
    await standard_tiers()
    clock.freeze(T0)
    m = await enrol()
    await order(m, 2_000_000, occurred_at=T0 - timedelta(days=366))
    assert (await tiers.status(m.id)).tier_points == 0


# ------------------------------------------------------------------ demotion


async def test_falling_below_keeps_the_tier_for_the_grace_days_then_drops_one_tier() -> None:
    await standard_tiers()
    await program(tier_grace_days=30)
    clock.freeze(T0)
    m = await enrol()
    await order(m, 6_000_000)
    assert await tier_of(m.id) == "GOLD"
    clock.advance(timedelta(days=366))

    assert await tiers.review_tiers() == {"grace": 1}
    status = await tiers.status(m.id)
    assert status.tier is not None and status.tier.code == "GOLD"
    assert status.tier_points == 0
    assert status.grace_until == clock.now() + timedelta(days=30)
    assert await tiers.review_tiers() == {}  # idempotent

    clock.advance(timedelta(days=29))
    assert await tiers.review_tiers() == {}
    assert await tier_of(m.id) == "GOLD"

    clock.advance(timedelta(days=1, seconds=1))
    async with member_messages(m) as drain:
        assert await tiers.review_tiers() == {"demoted": 1}
        changes = [msg for msg in await drain() if msg["type"] == "TierChanged"]
    assert [(c["from"], c["to"]) for c in changes] == [("GOLD", "SILVER")]
    status = await tiers.status(m.id)
    assert status.tier is not None and status.tier.code == "SILVER"  # one tier, not two
    assert status.grace_until == clock.now() + timedelta(days=30)  # re-reviewed later
    assert await tiers.review_tiers() == {}

    clock.advance(timedelta(days=30, seconds=1))
    assert await tiers.review_tiers() == {"demoted": 1}
    status = await tiers.status(m.id)
    assert status.tier is not None and status.tier.code == "MEMBER"
    assert status.grace_until is None
    assert await tiers.review_tiers() == {}


async def test_earning_back_during_grace_keeps_the_tier_and_ends_the_grace() -> None:
    await standard_tiers()
    clock.freeze(T0)
    m = await enrol()
    await order(m, 2_000_000)  # Silver
    clock.advance(timedelta(days=366))
    await tiers.review_tiers()
    assert (await tiers.status(m.id)).grace_until is not None
    await order(m, 2_000_000)
    status = await tiers.status(m.id)
    assert status.tier is not None and status.tier.code == "SILVER"
    assert status.grace_until is None
    clock.advance(timedelta(days=60))
    assert await tiers.review_tiers() == {}
    assert await tier_of(m.id) == "SILVER"


async def test_zero_grace_days_drops_at_the_first_review_one_tier_a_day() -> None:
    await standard_tiers()
    await program(tier_grace_days=0)
    clock.freeze(T0)
    m = await enrol()
    await order(m, 6_000_000)
    clock.advance(timedelta(days=366))
    assert await tiers.review_tiers() == {"demoted": 1}
    assert await tiers.review_tiers() == {}
    assert await tier_of(m.id) == "SILVER"
    clock.advance(timedelta(days=1, seconds=1))
    assert await tiers.review_tiers() == {"demoted": 1}
    assert await tier_of(m.id) == "MEMBER"


async def test_refunding_the_order_that_promoted_demotes_at_once() -> None:
    await standard_tiers()
    m = await enrol()
    await order(m, 2_000_000)  # Silver
    promoting = await order(m, 4_000_000)  # Gold
    async with member_messages(m) as drain:
        await refund(promoting.order.order_id)
        changes = [msg for msg in await drain() if msg["type"] == "TierChanged"]
    assert [(c["from"], c["to"]) for c in changes] == [("GOLD", "SILVER")]
    status = await tiers.status(m.id)
    assert status.tier is not None and status.tier.code == "SILVER"
    assert (status.tier_points, status.grace_until) == (100, None)


async def test_a_partial_refund_of_the_promoting_order_that_stays_above_changes_nothing() -> None:
    await standard_tiers()
    m = await enrol()
    promoting = await order(m, 7_000_000)  # 350: Gold
    await refund(promoting.order.order_id, 500_000)  # -25 -> 325
    assert await tier_of(m.id) == "GOLD"
    await refund(promoting.order.order_id, 1_000_000)  # -50 -> 275: below, promoted by it
    assert await tier_of(m.id) == "SILVER"


async def test_refunding_another_order_below_the_threshold_only_starts_the_grace() -> None:
    await standard_tiers()
    clock.freeze(T0)
    m = await enrol()
    older = await order(m, 2_000_000)  # Silver
    await order(m, 4_000_000)  # Gold (the promoting order)
    await refund(older.order.order_id)  # 200 < 300, but this order did not promote
    status = await tiers.status(m.id)
    assert status.tier is not None and status.tier.code == "GOLD"
    assert status.grace_until == T0 + timedelta(days=30)
    clock.advance(timedelta(days=30, seconds=1))
    assert await tiers.review_tiers() == {"demoted": 1}
    assert await tier_of(m.id) == "SILVER"


# ------------------------------------------------------------------ benefits


async def test_gold_earns_one_and_a_half_times_on_orders() -> None:
    await standard_tiers()
    m = await enrol()
    await order(m, 2_000_000)
    second = await order(m, 4_000_000)
    assert second.points_earned == 200  # still Silver (x1.0) when the order was priced
    third = await order(m, 1_000_000)
    assert third.points_earned == 75


async def test_the_tier_multiplier_applies_to_actions_too() -> None:
    await standard_tiers()
    m = await enrol()
    assert await multiplier(m, "review.posted") == Decimal(1)
    await order(m, 6_000_000)
    assert await multiplier(m, "review.posted") == Decimal("1.5")


async def test_action_tier_points_count_and_promote() -> None:
    await standard_tiers()
    m = await enrol()
    await earning.add_tier_points(m, 120, clock.now(), "action:review.posted:k1")
    status = await tiers.status(m.id)
    assert status.tier is not None and status.tier.code == "SILVER"
    assert status.tier_points == 120


async def test_voucher_discount_follows_the_tier() -> None:
    await standard_tiers()
    m = await enrol()
    assert await tiers.voucher_discount_percent(m) == Decimal(0)
    await order(m, 6_000_000)
    assert await tiers.voucher_discount_percent(m) == Decimal(5)


async def test_without_tiers_nothing_multiplies_and_nobody_has_a_tier() -> None:
    m = await enrol()
    result = await order(m, 1_000_000)
    assert result.points_earned == 50
    status = await tiers.status(m.id)
    assert (status.tier, status.next_tier, status.tier_points) == (None, None, 50)


async def test_a_tier_created_after_points_were_earned_promotes_at_once() -> None:
    m = await enrol()
    await order(m, 2_000_000)
    async with member_messages(m) as drain:
        await standard_tiers()
        changes = [msg for msg in await drain() if msg["type"] == "TierChanged"]
    assert [(c["from"], c["to"]) for c in changes] == [("MEMBER", "SILVER")]
    assert (await MemberState.get(member_id=m.id)).tier_code == "SILVER"
    await tiers.upsert_tier(tiers.TierData("SILVER", "Silver", 150))  # raised: kept gently
    assert await tier_of(m.id) == "SILVER"
