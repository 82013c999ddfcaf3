"""redeemPoints, adjustPoints and the issuance budget through the API."""

from __future__ import annotations

from rewards.ledger import service
from rewards.ledger.reasons import Reason
from tests import factories
from tests.conftest import Api
from tests.rewards.checks import assert_books_balance
from tests.rewards.ledger_api import adjust, audit, points, redeem

BUDGET = "{ program { issuanceBudgetRemaining } }"
TOP_UP = """mutation($n: BigInt!) { updateProgram(input: {issuanceBudgetTopUp: $n}) {
  program { issuanceBudgetRemaining } errors { code field } } }"""


async def test_redeem_turns_points_into_a_discount_of_points_times_point_value(api: Api) -> None:
    # given a member holding 100 points
    m = await factories.member(external_id="r1")
    await service.credit(m.id, 100, Reason.ACTION)
    # when the till redeems 30
    r = await redeem(api, "r1", 30, "k-1")
    # then they are a discount of 30 x 1,000 VND, 70 points are left, and the books balance
    assert r == {"discount": "30000.00", "member": {"pointsBalance": 70}, "errors": []}
    await assert_books_balance()
    a = await audit(api)
    assert (a["pointsRedeemed"], a["pointsOutstanding"], a["liability"]) == ("30", "70", "70000.00")


async def test_redeeming_more_than_the_balance_is_insufficient_and_changes_nothing(
    api: Api,
) -> None:
    # given a member holding 10 points
    m = await factories.member(external_id="r2")
    await service.credit(m.id, 10, Reason.ACTION)
    # when the till redeems 11
    r = await redeem(api, "r2", 11, "k-2")
    # then it is INSUFFICIENT_POINTS naming the points, and nothing changes
    assert r["errors"] == [{"code": "INSUFFICIENT_POINTS", "field": ["input", "points"]}]
    assert (await points(api, "r2"))["pointsBalance"] == 10
    # and the failed key is not used up: the same request succeeds once points arrive
    await service.credit(m.id, 1, Reason.ACTION)
    assert (await redeem(api, "r2", 11, "k-2"))["errors"] == []


async def test_a_repeated_redeem_key_returns_the_first_answer(api: Api) -> None:
    # given a member holding 100 points, 40 of them redeemed
    m = await factories.member(external_id="r3")
    await service.credit(m.id, 100, Reason.ACTION)
    first = await redeem(api, "r3", 40, "k-3")
    # when the same redeem is sent again
    again = await redeem(api, "r3", 40, "k-3")
    # then it answers the first discount and takes nothing more
    assert again["discount"] == first["discount"] == "40000.00"
    assert (await points(api, "r3"))["pointsBalance"] == 60
    # and the key with other points or another order is an IDEMPOTENCY_CONFLICT
    other = await redeem(api, "r3", 41, "k-3")
    assert other["errors"] == [
        {"code": "IDEMPOTENCY_CONFLICT", "field": ["input", "idempotencyKey"]}
    ]
    other_order = await redeem(api, "r3", 40, "k-3", order_id="another")
    assert other_order["errors"][0]["code"] == "IDEMPOTENCY_CONFLICT"


async def test_bad_redeem_input_names_the_field(api: Api) -> None:
    # given a member
    await factories.member(external_id="r4")
    # when the till redeems 0 points, with a blank key, or for nobody
    # then each is refused, naming the field
    assert (await redeem(api, "r4", 0, "k-4"))["errors"] == [
        {"code": "INVALID_INPUT", "field": ["input", "points"]}
    ]
    assert (await redeem(api, "r4", 5, " "))["errors"][0]["field"] == ["input", "idempotencyKey"]
    assert (await redeem(api, "nobody", 5, "k-5"))["errors"][0]["code"] == "NOT_FOUND"


async def test_redeem_needs_the_integration_or_admin_key(api: Api, settings) -> None:  # type: ignore[no-untyped-def]
    # given a member with a token
    m = await factories.member(external_id="r5")
    token = factories.token_for(m, settings)
    # when the member redeems points themselves
    body = await api.raw(
        """mutation { redeemPoints(input: {memberExternalId: "r5", points: 1, orderId: "o",
        idempotencyKey: "k"}) { discount } }""",
        token=token,
    )
    # then it is FORBIDDEN
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_adjust_credits_and_debits_with_a_reason(api: Api) -> None:
    # given a member
    await factories.member(external_id="a1")
    # when an admin adjusts their points up with a reason
    up = await adjust(api, "a1", 25, "adj-1", reason="apology for the late delivery")
    # then the entry carries the points and the reason
    assert up["errors"] == []
    assert up["entry"]["points"] == 25
    assert up["entry"]["reason"] == "ADJUSTMENT"
    assert up["entry"]["description"] == "apology for the late delivery"
    # and an adjustment down is taken from the balance, but never below zero
    down = await adjust(api, "a1", -10, "adj-2", reason="duplicate credit")
    assert (down["entry"]["points"], down["member"]["pointsBalance"]) == (-10, 15)
    too_much = await adjust(api, "a1", -16, "adj-3")
    assert too_much["errors"] == [{"code": "INSUFFICIENT_POINTS", "field": ["input", "points"]}]
    # and a repeated key answers the first entry; with other points it is a conflict
    again = await adjust(api, "a1", 25, "adj-1", reason="apology for the late delivery")
    assert again["entry"]["id"] == up["entry"]["id"]
    assert (await points(api, "a1"))["pointsBalance"] == 15
    conflict = await adjust(api, "a1", 26, "adj-1")
    assert conflict["errors"][0]["code"] == "IDEMPOTENCY_CONFLICT"
    # and zero points is INVALID_INPUT
    zero = await adjust(api, "a1", 0, "adj-4")
    assert zero["errors"] == [{"code": "INVALID_INPUT", "field": ["input", "points"]}]
    await assert_books_balance()


async def test_adjust_is_admin_only(api: Api) -> None:
    # given a member
    await factories.member(external_id="a2")
    # when the integration key adjusts their points
    body = await api.raw(
        """mutation { adjustPoints(input: {memberExternalId: "a2", points: 5, reason: "x",
        idempotencyKey: "k"}) { errors { code } } }""",
        token="test-integration-key",
    )
    # then it is FORBIDDEN
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_credits_beyond_the_budget_are_budget_exhausted_until_topped_up(api: Api) -> None:
    # given a member and a budget cut down to 20 points
    await factories.member(external_id="b1")
    start = int((await api.admin(BUDGET))["program"]["issuanceBudgetRemaining"])
    withdrawn = await api.admin(TOP_UP, {"n": str(-(start - 20))})
    assert withdrawn["updateProgram"]["program"]["issuanceBudgetRemaining"] == "20"
    # when 20 are credited, then 1 more
    assert (await adjust(api, "b1", 20, "b-1"))["errors"] == []
    # then the one more is BUDGET_EXHAUSTED
    refused = await adjust(api, "b1", 1, "b-2")
    assert refused["errors"] == [{"code": "BUDGET_EXHAUSTED", "field": None}]
    assert (await points(api, "b1"))["pointsBalance"] == 20
    # and once the budget is topped up, it lands; the budget cannot go below zero
    topped = await api.admin(TOP_UP, {"n": "100"})
    assert topped["updateProgram"]["program"]["issuanceBudgetRemaining"] == "100"
    assert (await adjust(api, "b1", 1, "b-2"))["errors"] == []
    over = await api.admin(TOP_UP, {"n": "-1000"})
    assert over["updateProgram"]["errors"] == [
        {"code": "INVALID_INPUT", "field": ["input", "issuanceBudgetTopUp"]}
    ]
    assert (await api.admin(BUDGET))["program"]["issuanceBudgetRemaining"] == "99"
    await assert_books_balance()


async def test_an_order_beyond_the_budget_is_refused_whole(api: Api) -> None:
    from tests.rewards.ledger_api import record

    # given a member and a budget of 10 points
    await factories.member(external_id="b2")
    start = int((await api.admin(BUDGET))["program"]["issuanceBudgetRemaining"])
    await api.admin(TOP_UP, {"n": str(-(start - 10))})
    # when an order worth 50 points is recorded
    r = await record(api, "ord-b2", "b2", "1000000")
    # then it is BUDGET_EXHAUSTED, and the order is not recorded
    assert r["errors"][0]["code"] == "BUDGET_EXHAUSTED"
    assert r["order"] is None
    from rewards.orders.models import Order

    assert not await Order.exists(order_id="ord-b2")


async def test_a_credit_past_the_contracts_int_is_limit_reached_and_writes_nothing(
    api: Api,
) -> None:
    # given a member one point below the largest balance the API's Int can carry
    await api.admin(TOP_UP, {"n": str(2**33)})
    member = await factories.member()
    largest = 2**31 - 1
    assert (await adjust(api, member.external_id, largest - 1, "k1"))["errors"] == []
    # when an admin credits two more points
    refused = await adjust(api, member.external_id, 2, "k2")
    # then it is LIMIT_REACHED naming points, and the balance still reads
    assert refused["errors"] == [{"code": "LIMIT_REACHED", "field": ["input", "points"]}]
    assert (await points(api, member.external_id))["pointsBalance"] == largest - 1
    # and one more point reaches the bound exactly
    assert (await adjust(api, member.external_id, 1, "k3"))["errors"] == []
    assert (await points(api, member.external_id))["pointsBalance"] == largest
