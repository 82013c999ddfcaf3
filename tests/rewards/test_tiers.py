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
    # given the standard tiers
    await standard_tiers()
    # when another tier takes Gold's threshold
    # then it is ALREADY_EXISTS naming the threshold
    with pytest.raises(AlreadyExists) as err:
        await tiers.upsert_tier(tiers.TierData("PLATINUM", "Platinum", 300))
    assert err.value.field == ["threshold"]
    # and when Gold is upserted by its code, it is renamed, not doubled
    renamed = await tiers.upsert_tier(tiers.TierData("GOLD", "Gold Plus", 300))
    assert renamed.name == "Gold Plus"
    assert [t.code for t in await tiers.list_tiers()] == ["MEMBER", "SILVER", "GOLD"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (tiers.TierData("", "X", 10), "code"),
        (tiers.TierData("A B", "X", 10), "code"),
        (tiers.TierData("X", "X", -1), "threshold"),
        (tiers.TierData("X", "X", 1, earn_multiplier=Decimal(0)), "earn_multiplier"),
        (
            tiers.TierData("X", "X", 1, voucher_discount_percent=Decimal(101)),
            "voucher_discount_percent",
        ),
        (tiers.TierData("X", "X", 1, perks=["p"] * 51), "perks"),
    ],
)
async def test_bad_tier_input_names_the_field_and_writes_nothing(
    data: tiers.TierData, field: str
) -> None:
    # given a tier wrong in one field
    # when it is upserted
    with pytest.raises(InvalidInput) as err:
        await tiers.upsert_tier(data)
    # then it is refused naming that field, and nothing is written
    assert err.value.field == field.split(".")
    assert await tiers.list_tiers() == []


async def test_deleting_a_tier_moves_its_holders_one_tier_down() -> None:
    # given the standard tiers, and a Gold member
    await standard_tiers()
    m = await enrol()
    await order(m, 6_000_000)
    assert await tier_of(m.id) == "GOLD"
    # when Gold is deleted
    await tiers.delete_tier("GOLD")
    # then its holders are Silver
    state = await MemberState.get(member_id=m.id)
    assert state.tier_code == "SILVER"
    assert await tier_of(m.id) == "SILVER"
    # and it cannot be deleted twice
    with pytest.raises(NotFound):
        await tiers.delete_tier("GOLD")


# ------------------------------------------------------------------ qualification


async def test_everyone_starts_in_the_threshold_zero_tier() -> None:
    # given the standard tiers
    await standard_tiers()
    # when a member enrols
    m = await enrol()
    # then they are in the threshold-zero tier, 100 points from the next
    status = await tiers.status(m.id)
    assert status.tier is not None and status.tier.code == "MEMBER"
    assert status.next_tier is not None and status.next_tier.code == "SILVER"
    assert (status.tier_points, status.tier_points_to_next, status.grace_until) == (0, 100, None)


async def test_orders_move_a_member_up_at_once_and_publish_tier_changed() -> None:
    # given the standard tiers, and a member listening to their live channel
    await standard_tiers()
    m = await enrol()
    async with member_messages(m) as drain:
        # when their orders cross Silver, then Gold
        await order(m, 2_000_000)
        # then they move up at once
        assert await tier_of(m.id) == "SILVER"
        await order(m, 4_000_000)
        assert await tier_of(m.id) == "GOLD"
        # and TierChanged went out live for each step
        changes = [msg for msg in await drain() if msg["type"] == "TierChanged"]
    assert [(c["from"], c["to"]) for c in changes] == [("MEMBER", "SILVER"), ("SILVER", "GOLD")]
    status = await tiers.status(m.id)
    assert (status.tier_points, status.next_tier, status.tier_points_to_next) == (300, None, 0)


async def test_a_jump_over_several_thresholds_lands_in_the_highest() -> None:
    # given the standard tiers, and a member listening to their live channel
    await standard_tiers()
    m = await enrol()
    async with member_messages(m) as drain:
        # when one order crosses Silver and Gold at once
        await order(m, 7_000_000)
        changes = [msg for msg in await drain() if msg["type"] == "TierChanged"]
    # then one TierChanged takes them straight to Gold
    assert [(c["from"], c["to"]) for c in changes] == [("MEMBER", "GOLD")]


async def test_tier_points_changed_carries_the_counted_total() -> None:
    # given the standard tiers, and a member
    await standard_tiers()
    m = await enrol()
    # when their orders earn 100, then 50 tier points, and 50 are refunded
    with captured(tiers.TierPointsChanged) as got:
        result = await order(m, 2_000_000)
        await order(m, 1_000_000)
        await refund(result.order.order_id, 1_000_000)
    # then each TierPointsChanged carries the change and the counted total
    assert [(e.member_id, e.delta, e.tier_points) for e in got] == [
        (m.id, 100, 100),
        (m.id, 50, 150),
        (m.id, -50, 100),
    ]


async def test_rolling_year_forgets_points_older_than_365_days() -> None:
    # given the standard tiers, and a member's 100 tier points
    await standard_tiers()
    clock.freeze(T0)
    m = await enrol()
    await order(m, 2_000_000)
    # when 364 days pass
    clock.advance(timedelta(days=364))
    # then they still count
    assert (await tiers.status(m.id)).tier_points == 100
    # and a day later, 365 days on, they are forgotten
    clock.advance(timedelta(days=2))
    assert (await tiers.status(m.id)).tier_points == 0


async def test_lifetime_keeps_every_tier_point() -> None:
    # given tier points counted for a lifetime, and a member's 100
    await standard_tiers()
    await program(tier_window="LIFETIME")
    clock.freeze(T0)
    m = await enrol()
    await order(m, 2_000_000)
    # when 800 days pass
    clock.advance(timedelta(days=800))
    # then they still count
    assert (await tiers.status(m.id)).tier_points == 100


async def test_a_refund_leaves_the_rolling_window_with_the_order_it_undoes() -> None:
    # given the standard tiers, a member's 100 tier points, and 200 more 200 days later
    await standard_tiers()
    clock.freeze(T0)
    m = await enrol()
    first = await order(m, 2_000_000)  # 100 tier points at T0
    clock.advance(timedelta(days=200))
    await order(m, 4_000_000)  # 200 at T0+200d
    clock.advance(timedelta(days=100))
    # when the first order is refunded 100 days later
    await refund(first.order.order_id)  # at T0+300d removes the T0 points
    # then its points are gone
    assert (await tiers.status(m.id)).tier_points == 200
    # and when it would have left the window, the refund leaves with it: 200 still count
    clock.advance(timedelta(days=70))  # T0+370d: the T0 order and its refund both gone
    assert (await tiers.status(m.id)).tier_points == 200


async def test_backdated_orders_count_from_when_they_happened() -> None:
    # given the standard tiers, and a member
    await standard_tiers()
    clock.freeze(T0)
    m = await enrol()
    # when an order of 366 days ago is recorded
    await order(m, 2_000_000, occurred_at=T0 - timedelta(days=366))
    # then its points are already out of the window
    assert (await tiers.status(m.id)).tier_points == 0


# ------------------------------------------------------------------ demotion


async def test_falling_below_keeps_the_tier_for_the_grace_days_then_drops_one_tier() -> None:
    # given the standard tiers, 30 grace days, and a Gold member whose points leave the window
    await standard_tiers()
    await program(tier_grace_days=30)
    clock.freeze(T0)
    m = await enrol()
    await order(m, 6_000_000)
    assert await tier_of(m.id) == "GOLD"
    clock.advance(timedelta(days=366))

    # when the review runs
    # then the member keeps Gold, in grace for 30 days
    assert await tiers.review_tiers() == {"grace": 1}
    status = await tiers.status(m.id)
    assert status.tier is not None and status.tier.code == "GOLD"
    assert status.tier_points == 0
    assert status.grace_until == clock.now() + timedelta(days=30)
    assert await tiers.review_tiers() == {}  # idempotent

    # and a day before the end of grace, nothing changes
    clock.advance(timedelta(days=29))
    assert await tiers.review_tiers() == {}
    assert await tier_of(m.id) == "GOLD"

    # and when grace is over, they drop one tier, live, and are reviewed again later
    clock.advance(timedelta(days=1, seconds=1))
    async with member_messages(m) as drain:
        assert await tiers.review_tiers() == {"demoted": 1}
        changes = [msg for msg in await drain() if msg["type"] == "TierChanged"]
    assert [(c["from"], c["to"]) for c in changes] == [("GOLD", "SILVER")]
    status = await tiers.status(m.id)
    assert status.tier is not None and status.tier.code == "SILVER"  # one tier, not two
    assert status.grace_until == clock.now() + timedelta(days=30)  # re-reviewed later
    assert await tiers.review_tiers() == {}

    # and when that grace is over too, they reach the starting tier
    clock.advance(timedelta(days=30, seconds=1))
    assert await tiers.review_tiers() == {"demoted": 1}
    status = await tiers.status(m.id)
    assert status.tier is not None and status.tier.code == "MEMBER"
    assert status.grace_until is None
    assert await tiers.review_tiers() == {}


async def test_earning_back_during_grace_keeps_the_tier_and_ends_the_grace() -> None:
    # given the standard tiers, and a Silver member in grace
    await standard_tiers()
    clock.freeze(T0)
    m = await enrol()
    await order(m, 2_000_000)  # Silver
    clock.advance(timedelta(days=366))
    await tiers.review_tiers()
    assert (await tiers.status(m.id)).grace_until is not None
    # when they order enough again
    await order(m, 2_000_000)
    # then they keep Silver, the grace ends, and later reviews leave them there
    status = await tiers.status(m.id)
    assert status.tier is not None and status.tier.code == "SILVER"
    assert status.grace_until is None
    clock.advance(timedelta(days=60))
    assert await tiers.review_tiers() == {}
    assert await tier_of(m.id) == "SILVER"


async def test_zero_grace_days_drops_at_the_first_review_one_tier_a_day() -> None:
    # given the standard tiers, no grace, and a Gold member whose points leave the window
    await standard_tiers()
    await program(tier_grace_days=0)
    clock.freeze(T0)
    m = await enrol()
    await order(m, 6_000_000)
    clock.advance(timedelta(days=366))
    # when the review runs
    # then they drop one tier, once a day
    assert await tiers.review_tiers() == {"demoted": 1}
    assert await tiers.review_tiers() == {}
    assert await tier_of(m.id) == "SILVER"
    clock.advance(timedelta(days=1, seconds=1))
    assert await tiers.review_tiers() == {"demoted": 1}
    assert await tier_of(m.id) == "MEMBER"


async def test_refunding_the_order_that_promoted_demotes_at_once() -> None:
    # given the standard tiers, and a member whose second order made them Gold
    await standard_tiers()
    m = await enrol()
    await order(m, 2_000_000)  # Silver
    promoting = await order(m, 4_000_000)  # Gold
    # when that order is refunded
    async with member_messages(m) as drain:
        await refund(promoting.order.order_id)
        changes = [msg for msg in await drain() if msg["type"] == "TierChanged"]
    # then they drop back to Silver at once, without grace
    assert [(c["from"], c["to"]) for c in changes] == [("GOLD", "SILVER")]
    status = await tiers.status(m.id)
    assert status.tier is not None and status.tier.code == "SILVER"
    assert (status.tier_points, status.grace_until) == (100, None)


async def test_a_partial_refund_of_the_promoting_order_that_stays_above_changes_nothing() -> None:
    # given the standard tiers, and a member that one order made Gold with 350 points
    await standard_tiers()
    m = await enrol()
    promoting = await order(m, 7_000_000)  # 350: Gold
    # when 25 points of it are refunded
    await refund(promoting.order.order_id, 500_000)  # -25 -> 325
    # then they stay Gold
    assert await tier_of(m.id) == "GOLD"
    # and when 50 more are, below the threshold, the order that promoted them demotes them
    await refund(promoting.order.order_id, 1_000_000)  # -50 -> 275: below, promoted by it
    assert await tier_of(m.id) == "SILVER"


async def test_refunding_another_order_below_the_threshold_only_starts_the_grace() -> None:
    # given the standard tiers, and a Gold member
    await standard_tiers()
    clock.freeze(T0)
    m = await enrol()
    older = await order(m, 2_000_000)  # Silver
    await order(m, 4_000_000)  # Gold (the promoting order)
    # when an order below the threshold, not the one that promoted them, is refunded
    await refund(older.order.order_id)  # 200 < 300, but this order did not promote
    # then they keep Gold, in grace; after it they drop one tier
    status = await tiers.status(m.id)
    assert status.tier is not None and status.tier.code == "GOLD"
    assert status.grace_until == T0 + timedelta(days=30)
    clock.advance(timedelta(days=30, seconds=1))
    assert await tiers.review_tiers() == {"demoted": 1}
    assert await tier_of(m.id) == "SILVER"


# ------------------------------------------------------------------ benefits


async def test_gold_earns_one_and_a_half_times_on_orders() -> None:
    # given the standard tiers, and a Silver member
    await standard_tiers()
    m = await enrol()
    await order(m, 2_000_000)
    # when they order into Gold and then again
    second = await order(m, 4_000_000)
    # then the order that promoted them earns at x1, the next at Gold's x1.5
    assert second.points_earned == 200  # still Silver (x1.0) when the order was priced
    third = await order(m, 1_000_000)
    assert third.points_earned == 75


async def test_the_tier_multiplier_applies_to_actions_too() -> None:
    # given the standard tiers, and a member
    await standard_tiers()
    m = await enrol()
    # when they reach Gold
    # then their actions' multiplier goes from x1 to x1.5
    assert await multiplier(m, "review.posted") == Decimal(1)
    await order(m, 6_000_000)
    assert await multiplier(m, "review.posted") == Decimal("1.5")


async def test_action_tier_points_count_and_promote() -> None:
    # given the standard tiers, and a member
    await standard_tiers()
    m = await enrol()
    # when an action earns them 120 tier points
    await earning.add_tier_points(m, 120, clock.now(), "action:review.posted:k1")
    # then they count, and promote to Silver
    status = await tiers.status(m.id)
    assert status.tier is not None and status.tier.code == "SILVER"
    assert status.tier_points == 120


async def test_voucher_discount_follows_the_tier() -> None:
    # given the standard tiers, and a member
    await standard_tiers()
    m = await enrol()
    # when they reach Gold
    # then their voucher discount goes from 0 to Gold's 5%
    assert await tiers.voucher_discount_percent(m) == Decimal(0)
    await order(m, 6_000_000)
    assert await tiers.voucher_discount_percent(m) == Decimal(5)


async def test_without_tiers_nothing_multiplies_and_nobody_has_a_tier() -> None:
    # given no tiers, and a member
    m = await enrol()
    # when they order
    result = await order(m, 1_000_000)
    # then points are not multiplied, and nobody has a tier
    assert result.points_earned == 50
    status = await tiers.status(m.id)
    assert (status.tier, status.next_tier, status.tier_points) == (None, None, 50)


async def test_a_tier_created_after_points_were_earned_promotes_at_once() -> None:
    # given a member's 100 tier points, listening to their live channel
    m = await enrol()
    await order(m, 2_000_000)
    async with member_messages(m) as drain:
        # when the standard tiers are created
        await standard_tiers()
        # then they are promoted to Silver at once, live
        changes = [msg for msg in await drain() if msg["type"] == "TierChanged"]
    assert [(c["from"], c["to"]) for c in changes] == [("MEMBER", "SILVER")]
    assert (await MemberState.get(member_id=m.id)).tier_code == "SILVER"
    # and when Silver's threshold is raised above them, they keep it
    await tiers.upsert_tier(tiers.TierData("SILVER", "Silver", 150))  # raised: kept gently
    assert await tier_of(m.id) == "SILVER"
