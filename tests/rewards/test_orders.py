"""recordOrder and refundOrder through the API: earning, idempotency, proportional refunds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core import clock
from core.events import off, within
from rewards.orders.service import OrderCompleted
from tests import factories
from tests.conftest import Api
from tests.rewards.checks import assert_books_balance
from tests.rewards.ledger_api import audit, points, record, redeem, refund

T0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)


async def test_an_order_of_one_million_earns_50_points_and_50_tier_points(api: Api) -> None:
    # given the default program (5% back, 1 point = 1000 VND, 1 tier point per 20000)
    await factories.member(external_id="buyer")
    # when an order of 1,000,000 VND is recorded
    r = await record(api, "ord-1", "buyer", "1000000")
    # then it earns 50 points, spendable at once, and 50 tier points
    assert r["errors"] == []
    assert (r["pointsEarned"], r["tierPointsEarned"], r["duplicate"]) == (50, 50, False)
    assert r["order"]["status"] == "COMPLETED"
    assert r["order"]["member"] == {"externalId": "buyer"}
    assert await points(api, "buyer") == {
        "pointsBalance": 50,
        "pendingPoints": 0,
        "lifetimePoints": 50,
        "pointsExpiringSoon": 0,
    }
    assert (await audit(api))["balanced"] is True


async def test_an_order_of_19999_earns_nothing(api: Api) -> None:
    # given a member
    await factories.member(external_id="small")
    # when an order of 19,999 VND is recorded
    r = await record(api, "ord-small", "small", "19999")
    # then it earns nothing, and no tier points
    assert (r["pointsEarned"], r["tierPointsEarned"]) == (0, 0)
    assert (await points(api, "small"))["pointsBalance"] == 0


async def test_points_are_floored_once_at_the_end(api: Api) -> None:
    # given a member
    await factories.member(external_id="f")
    # when an order of 39,999 is recorded: 39,999 x 5% / 1000 = 1.99995 -> 1 point; 39,999 /
    # 20,000 -> 1 tier point
    r = await record(api, "ord-f", "f", "39999")
    # then each is floored once, at the end
    assert (r["pointsEarned"], r["tierPointsEarned"]) == (1, 1)


async def test_a_repeated_order_returns_the_first_answer_and_changes_nothing(api: Api) -> None:
    # given a member's order
    await factories.member(external_id="rep")
    first = await record(api, "ord-rep", "rep", "1000000")
    # when it is recorded again
    again = await record(api, "ord-rep", "rep", "1000000.00")
    # then it is a duplicate answering the first, and earns nothing more
    assert again["duplicate"] is True
    assert again["pointsEarned"] == first["pointsEarned"] == 50
    assert (await points(api, "rep"))["pointsBalance"] == 50


async def test_the_same_order_id_with_other_content_is_a_conflict(api: Api) -> None:
    # given two members, and an order of the first
    await factories.member(external_id="c1")
    await factories.member(external_id="c2")
    await record(api, "ord-c", "c1", "1000000")
    # when its id is recorded with another amount, or for the other member
    other_amount = await record(api, "ord-c", "c1", "2000000")
    other_member = await record(api, "ord-c", "c2", "1000000")
    # then each is an IDEMPOTENCY_CONFLICT naming the order id, and nothing is earned
    for r in (other_amount, other_member):
        assert r["errors"] == [{"code": "IDEMPOTENCY_CONFLICT", "field": ["input", "orderId"]}]
    assert (await points(api, "c1"))["pointsBalance"] == 50
    assert (await points(api, "c2"))["pointsBalance"] == 0


async def test_bad_order_input_names_the_field_and_writes_nothing(api: Api) -> None:
    # given a member
    await factories.member(external_id="bad")
    # when orders with a bad amount, a blank id or an unknown member are recorded
    for amount in ("0", "-5", "10.001"):
        r = await record(api, "ord-bad", "bad", amount)
        # then each is refused naming the field, and nothing is earned
        assert r["errors"] == [{"code": "INVALID_INPUT", "field": ["input", "amount"]}], amount
    r = await record(api, "   ", "bad", "100")
    assert r["errors"][0]["field"] == ["input", "orderId"]
    r = await record(api, "ord-x", "nobody", "100")
    assert r["errors"] == [{"code": "NOT_FOUND", "field": ["input", "memberExternalId"]}]
    assert (await audit(api))["pointsOutstanding"] == "0"


async def test_pending_points_become_available_after_the_return_window(api: Api) -> None:
    from rewards.ledger import jobs

    # given a return window of 7 days, and a member
    clock.freeze(T0)
    await api.admin("mutation { updateProgram(input: {pointsPendingDays: 7}) { errors { code } } }")
    await factories.member(external_id="pend")
    # when their order is recorded
    await record(api, "ord-p", "pend", "1000000")
    # then its points wait, pending
    assert await points(api, "pend") == {
        "pointsBalance": 0,
        "pendingPoints": 50,
        "lifetimePoints": 50,
        "pointsExpiringSoon": 0,
    }
    # and a minute before the window ends they still wait
    clock.advance(timedelta(days=6, hours=23))
    await jobs.mature_pending()
    assert (await points(api, "pend"))["pendingPoints"] == 50
    # and when it ends, the job makes them available, once
    clock.advance(timedelta(hours=1))
    assert await jobs.mature_pending() == 1
    assert await jobs.mature_pending() == 0  # idempotent
    p = await points(api, "pend")
    assert (p["pointsBalance"], p["pendingPoints"]) == (50, 0)
    await assert_books_balance()


async def test_order_completed_is_raised_inside_the_order_transaction(api: Api) -> None:
    # given a handler of OrderCompleted inside the order's transaction, and a member
    seen: list[OrderCompleted] = []

    async def count(event: OrderCompleted) -> None:
        seen.append(event)

    within(OrderCompleted, count)
    try:
        await factories.member(external_id="ev")
        # when an order is recorded twice
        await record(api, "ord-ev", "ev", "250000", channel="POS")
        await record(api, "ord-ev", "ev", "250000", channel="POS")  # a duplicate raises nothing
    finally:
        off(OrderCompleted, count)
    # then it was raised once, with the order
    mine = [e for e in seen if e.order_id == "ord-ev"]
    assert len(mine) == 1
    assert (str(mine[0].amount), mine[0].channel) == ("250000.00", "POS")


async def test_a_partial_refund_reverses_points_in_proportion(api: Api) -> None:
    # given a member's order of 1,000,000 (50 points)
    await factories.member(external_id="rf")
    await record(api, "ord-rf", "rf", "1000000")
    # when 400,000 of it is refunded
    r = await refund(api, "ord-rf", "rf-1", "400000")
    # then 20 points are reversed, and the order is partly refunded
    assert r["errors"] == []
    assert r["pointsReversed"] == 20
    assert r["order"] == {
        "orderId": "ord-rf",
        "refundedAmount": "400000.00",
        "status": "PARTIALLY_REFUNDED",
    }
    assert (await points(api, "rf"))["pointsBalance"] == 30
    # and a refund without an amount takes all that remains
    rest = await refund(api, "ord-rf", "rf-2")  # omitted amount: all that remains
    assert rest["pointsReversed"] == 30
    assert rest["order"]["status"] == "REFUNDED"
    p = await points(api, "rf")
    assert (p["pointsBalance"], p["lifetimePoints"]) == (0, 0)
    await assert_books_balance()


async def test_refunds_round_in_the_program_favour_and_add_up_to_the_order(api: Api) -> None:
    # given a member's order of 50 points
    await factories.member(external_id="rr")
    await record(api, "ord-rr", "rr", "1000000")  # 50 points
    # when three refunds of 1% each are made
    reversed_ = [
        (await refund(api, "ord-rr", f"rr-{i}", "10000"))["pointsReversed"] for i in range(3)
    ]
    # then 1% of 50 points is half a point: each refund keeps the member below the exact share
    assert reversed_ == [1, 0, 1]
    # and the last refund makes them add up to the order
    last = await refund(api, "ord-rr", "rr-last")
    assert sum(reversed_) + last["pointsReversed"] == 50


async def test_a_repeated_refund_changes_nothing_and_other_content_conflicts(api: Api) -> None:
    # given a member's two orders, and a refund of one
    await factories.member(external_id="rd")
    await record(api, "ord-rd", "rd", "1000000")
    await record(api, "ord-rd2", "rd", "1000000")
    first = await refund(api, "ord-rd", "rd-1", "500000")
    # when the refund is sent again
    again = await refund(api, "ord-rd", "rd-1", "500000")
    # then it is a duplicate reversing nothing more
    assert (again["duplicate"], again["pointsReversed"]) == (True, first["pointsReversed"])
    assert (await points(api, "rd"))["pointsBalance"] == 75
    # and its id with another amount or order is an IDEMPOTENCY_CONFLICT
    other = await refund(api, "ord-rd", "rd-1", "100000")
    elsewhere = await refund(api, "ord-rd2", "rd-1", "500000")
    for r in (other, elsewhere):
        assert r["errors"] == [{"code": "IDEMPOTENCY_CONFLICT", "field": ["input", "refundId"]}]
    # and a whole refund repeated is a duplicate too
    whole = await refund(api, "ord-rd", "rd-all")
    whole_again = await refund(api, "ord-rd", "rd-all")
    assert whole_again["duplicate"] is True
    assert whole_again["pointsReversed"] == whole["pointsReversed"] == 25


async def test_refunding_more_than_remains_or_an_unknown_order_is_refused(api: Api) -> None:
    # given a member's order
    await factories.member(external_id="ro")
    await record(api, "ord-ro", "ro", "100000")
    # when more than remains is refunded, or an unknown order
    too_much = await refund(api, "ord-ro", "ro-1", "100000.01")
    # then each is refused, naming the field
    assert too_much["errors"] == [{"code": "INVALID_INPUT", "field": ["input", "amount"]}]
    unknown = await refund(api, "nope", "ro-2")
    assert unknown["errors"] == [{"code": "NOT_FOUND", "field": ["input", "orderId"]}]
    # and once it is refunded in full, nothing is left to refund
    await refund(api, "ord-ro", "ro-3")
    nothing_left = await refund(api, "ord-ro", "ro-4")
    assert nothing_left["errors"] == [{"code": "INVALID_INPUT", "field": ["input", "amount"]}]


async def test_refund_takes_pending_points_first(api: Api) -> None:
    # given a member with 50 points available, and an order of 50 still pending
    clock.freeze(T0)
    await factories.member(external_id="rp")
    await record(api, "ord-old", "rp", "1000000")  # 50 available
    await api.admin(
        "mutation { updateProgram(input: {pointsPendingDays: 14}) { errors { code } } }"
    )
    await record(api, "ord-new", "rp", "1000000")  # 50 pending
    # when 60% of the pending order is refunded
    r = await refund(api, "ord-new", "rp-1", "600000")
    # then its 30 points come out of the pending ones
    assert r["pointsReversed"] == 30
    p = await points(api, "rp")
    assert (p["pointsBalance"], p["pendingPoints"]) == (50, 20)
    await assert_books_balance()


async def test_refund_of_spent_points_goes_negative_blocks_spending_and_is_repaid(
    api: Api,
) -> None:
    # given a member who earned 50 and spent 40
    await factories.member(external_id="neg")
    await record(api, "ord-n1", "neg", "1000000")
    assert (await redeem(api, "neg", 40, "neg-spend"))["errors"] == []
    # when the order is refunded in full
    await refund(api, "ord-n1", "neg-r")
    # then the balance is -40 and no spend goes through
    assert (await points(api, "neg"))["pointsBalance"] == -40
    blocked = await redeem(api, "neg", 1, "neg-spend-2")
    assert blocked["errors"] == [{"code": "INSUFFICIENT_POINTS", "field": ["input", "points"]}]
    # and a later order repays the debt first
    await record(api, "ord-n2", "neg", "1000000")
    assert (await points(api, "neg"))["pointsBalance"] == 10
    assert (await redeem(api, "neg", 10, "neg-spend-3"))["errors"] == []
    assert (await redeem(api, "neg", 1, "neg-spend-4"))["errors"][0]["code"] == (
        "INSUFFICIENT_POINTS"
    )
    await assert_books_balance()


async def test_pending_earnings_repay_a_negative_balance_first(api: Api) -> None:
    # given a member at -20 after a refund of points they spent, and a return window
    clock.freeze(T0)
    await factories.member(external_id="negp")
    await record(api, "ord-a", "negp", "1000000")
    await redeem(api, "negp", 50, "negp-1")
    await refund(api, "ord-a", "negp-r", "400000")  # -20
    await api.admin(
        "mutation { updateProgram(input: {pointsPendingDays: 14}) { errors { code } } }"
    )
    # when they order again, earning 50
    await record(api, "ord-b", "negp", "1000000")  # 50: 20 repay at once, 30 pending
    # then 20 repay the debt at once, 30 wait, pending
    p = await points(api, "negp")
    assert (p["pointsBalance"], p["pendingPoints"]) == (0, 30)
    await assert_books_balance()
