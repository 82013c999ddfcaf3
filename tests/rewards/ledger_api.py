"""GraphQL documents and small helpers for the ledger's API tests."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api

RECORD = """mutation($i: RecordOrderInput!) { recordOrder(input: $i) {
  order { orderId amount refundedAmount status pointsEarned tierPointsEarned member { externalId } }
  pointsEarned tierPointsEarned referralPointsAwarded duplicate
  errors { code field } } }"""
REFUND = """mutation($i: RefundOrderInput!) { refundOrder(input: $i) {
  order { orderId refundedAmount status } pointsReversed duplicate errors { code field } } }"""
REDEEM = """mutation($i: RedeemPointsInput!) { redeemPoints(input: $i) {
  discount member { pointsBalance } errors { code field } } }"""
ADJUST = """mutation($i: AdjustPointsInput!) { adjustPoints(input: $i) {
  entry { id points reason description } member { pointsBalance } errors { code field } } }"""
POINTS = """query($e: String!) { member(externalId: $e) {
  pointsBalance pendingPoints lifetimePoints pointsExpiringSoon } }"""
AUDIT = """{ ledgerAudit { balanced pointsIssued pointsRedeemed pointsExpired pointsOutstanding
  liability accountsOutOfBalance } }"""


async def record(api: Api, order_id: str, member: str, amount: Any, **extra: Any) -> dict:
    i = {"orderId": order_id, "memberExternalId": member, "amount": str(amount), **extra}
    return (await api.integration(RECORD, {"i": i}))["recordOrder"]


async def refund(api: Api, order_id: str, refund_id: str, amount: Any = None) -> dict:
    i: dict[str, Any] = {"orderId": order_id, "refundId": refund_id}
    if amount is not None:
        i["amount"] = str(amount)
    return (await api.integration(REFUND, {"i": i}))["refundOrder"]


async def redeem(api: Api, member: str, points: int, key: str, order_id: str = "o-r") -> dict:
    i = {"memberExternalId": member, "points": points, "orderId": order_id, "idempotencyKey": key}
    return (await api.integration(REDEEM, {"i": i}))["redeemPoints"]


async def adjust(api: Api, member: str, points: int, key: str, reason: str = "goodwill") -> dict:
    i = {"memberExternalId": member, "points": points, "reason": reason, "idempotencyKey": key}
    return (await api.admin(ADJUST, {"i": i}))["adjustPoints"]


async def points(api: Api, member: str) -> dict:
    return (await api.admin(POINTS, {"e": member}))["member"]


async def audit(api: Api) -> dict:
    return (await api.admin(AUDIT))["ledgerAudit"]
