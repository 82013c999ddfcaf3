"""Points end to end on the real server: an order earns, the app sees it live, the till
redeems, a refund claws back, and the books balance (checked after every acceptance test)."""

from __future__ import annotations

import asyncio

from tests.acceptance.conftest import Server, next_message, socket_for, subscribe
from tests.conftest import ADMIN_KEY, INTEGRATION_KEY

ENROL = """mutation($i: EnrollMemberInput!) { enrollMember(input: $i) { member { id } } }"""
TOKEN = """mutation($e: String!) { issueMemberToken(memberExternalId: $e) { token } }"""
RECORD = """mutation($i: RecordOrderInput!) { recordOrder(input: $i) {
  pointsEarned tierPointsEarned duplicate errors { code } } }"""
REDEEM = """mutation($i: RedeemPointsInput!) { redeemPoints(input: $i) {
  discount member { pointsBalance } errors { code } } }"""
REFUND = """mutation($i: RefundOrderInput!) { refundOrder(input: $i) {
  pointsReversed order { status } errors { code } } }"""
ME = "{ me { pointsBalance pendingPoints lifetimePoints } }"
EVENTS = (
    "subscription { memberEvents { __typename ... on PointsChanged { balance delta reason } } }"
)


async def test_order_redeem_refund_with_live_points_and_a_balanced_audit(server: Server) -> None:
    # given a member enrolled by the till, their app subscribed to their events
    ext = "acc-ledger-1"
    await server.data(
        ENROL, {"i": {"externalId": ext, "displayName": "Võ Thị Lan"}}, token=INTEGRATION_KEY
    )
    token = (await server.data(TOKEN, {"e": ext}, token=INTEGRATION_KEY))["issueMemberToken"][
        "token"
    ]
    async with socket_for(server, token) as ws:
        await subscribe(ws, EVENTS)
        await asyncio.sleep(0.3)  # the subscription is registered before the order arrives
        # when the till records an order of 1,000,000 VND
        order = {"orderId": "acc-l-1", "memberExternalId": ext, "amount": "1000000"}
        earned = await server.data(RECORD, {"i": order}, token=INTEGRATION_KEY)
        # then it earns 50 points, and the app hears PointsChanged live
        assert earned["recordOrder"] == {
            "pointsEarned": 50,
            "tierPointsEarned": 50,
            "duplicate": False,
            "errors": [],
        }
        message = await next_message(ws)
        while message["payload"]["data"]["memberEvents"]["__typename"] != "PointsChanged":
            message = await next_message(ws)
        assert message["payload"]["data"]["memberEvents"] == {
            "__typename": "PointsChanged",
            "balance": 50,
            "delta": 50,
            "reason": "ORDER",
        }
    # and when the till sends the same order again, it is a duplicate
    again = await server.data(RECORD, {"i": order}, token=INTEGRATION_KEY)
    assert again["recordOrder"]["duplicate"] is True
    # and when the member redeems 30 of them, 20 are left
    redeem = {"memberExternalId": ext, "points": 30, "orderId": "acc-l-2", "idempotencyKey": "k1"}
    spent = await server.data(REDEEM, {"i": redeem}, token=INTEGRATION_KEY)
    assert spent["redeemPoints"] == {
        "discount": "30000.00",
        "member": {"pointsBalance": 20},
        "errors": [],
    }
    # and when the order is refunded, its 50 points are reversed
    refund = {"orderId": "acc-l-1", "refundId": "acc-rf-1"}
    back = await server.data(REFUND, {"i": refund}, token=INTEGRATION_KEY)
    assert back["refundOrder"] == {
        "pointsReversed": 50,
        "order": {"status": "REFUNDED"},
        "errors": [],
    }
    # then the member owes 30 and the books still balance
    me = await server.data(ME, token=token)
    assert me["me"] == {"pointsBalance": -30, "pendingPoints": 0, "lifetimePoints": 0}
    audit = await server.data("{ ledgerAudit { balanced pointsRedeemed } }", token=ADMIN_KEY)
    assert audit["ledgerAudit"]["balanced"] is True
