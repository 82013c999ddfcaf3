"""Member care end to end on the real server: the issue's "done when".

A care agent scans a card, reads the member's whole history and NPS comment, fixes their
phone number and sees their consents; the member edits their profile, grants SMS, sees what
keeps their tier and exports their data; an admin erases the member and ledgerAudit stays
balanced (the autouse fixture checks it again after the test).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from core.pubsub import messages
from tests.acceptance.conftest import Server
from tests.conftest import ADMIN_KEY, INTEGRATION_KEY

# A tier no other acceptance test reaches (the server is shared): 86.420.000 ₫ of orders.
TIER = {"code": "ACC-CARE", "name": "Kim Cương", "threshold": 4321}
ORDER_AMOUNT = "86420000"

ENROL = """mutation { enrollMember(input: {externalId: "acc-care-1", displayName: "Đỗ Thị Hạnh",
  phone: "0901234567", email: "hanh@example.vn"}) { member { id cardCode } errors { code } } }"""
TOKEN = 'mutation { issueMemberToken(memberExternalId: "acc-care-1") { token } }'
ORDER = """mutation($i: RecordOrderInput!) { recordOrder(input: $i) {
  pointsEarned errors { code } } }"""
NPS = """mutation { submitNps(score: 6, comment: "Giao hàng chậm, nhân viên dễ thương") {
  errors { code } } }"""
SCAN = """query($c: String!) { memberByCard(cardCode: $c) {
  externalId displayName phone tier { code }
  careHistory(first: 20) { edges { node { kind summary data } } pageInfo { hasNextPage } }
  npsResponses { score comment } } }"""
UPDATE = """mutation($i: UpdateMemberInput!) { updateMember(input: $i) {
  member { displayName phone city consents { channel granted } } errors { code field } } }"""
CONSENT = """mutation { setConsents(consents: [{channel: SMS, granted: true}]) {
  member { consents { channel granted updatedAt } } errors { code } } }"""
MY_TIER = "{ me { tier { code name } tierPoints tierStatus { atRisk pointsToKeep reviewAt } } }"
EXPORT = "mutation { exportMemberData { data errors { code } } }"
ERASE = 'mutation { eraseMember(memberExternalId: "acc-care-1") { erased errors { code } } }'
AUDIT = "{ ledgerAudit { balanced accountsOutOfBalance } }"


async def test_care_agent_member_and_admin_story(
    server: Server, server_env: dict[str, str], shared_redis_url: str
) -> None:
    tier = await server.data(
        "mutation($i: TierInput!) { upsertTier(input: $i) { errors { code } } }",
        {"i": TIER},
        token=ADMIN_KEY,
    )
    assert tier["upsertTier"]["errors"] == []
    # given a member enrolled at the till, who orders, and answers the NPS survey in the app
    enrolled = (await server.data(ENROL, token=INTEGRATION_KEY))["enrollMember"]
    member_id, card = enrolled["member"]["id"], enrolled["member"]["cardCode"]
    token = (await server.data(TOKEN, token=INTEGRATION_KEY))["issueMemberToken"]["token"]
    ordered = await server.data(
        ORDER,
        {"i": {"orderId": "ACC-CARE-1", "memberExternalId": "acc-care-1", "amount": ORDER_AMOUNT}},
        token=INTEGRATION_KEY,
    )
    assert ordered["recordOrder"]["errors"] == []
    assert (await server.data(NPS, token=token))["submitNps"]["errors"] == []
    assert (await server.data("{ me { cardCode } }", token=token))["me"]["cardCode"] == card

    # when a care agent scans the member's card
    found = (await server.data(SCAN, {"c": card}, token=INTEGRATION_KEY))["memberByCard"]
    # then they see who it is, the whole history newest first, and the NPS comment
    assert (found["externalId"], found["displayName"]) == ("acc-care-1", "Đỗ Thị Hạnh")
    assert found["tier"]["code"] == "ACC-CARE"
    kinds = [e["node"]["kind"] for e in found["careHistory"]["edges"]]
    assert kinds[0] == "NPS" and kinds[-1] == "ENROLLED"
    assert {"ORDER", "POINTS", "TIER_CHANGED", "MESSAGE"} <= set(kinds)
    summaries = [e["node"]["summary"] for e in found["careHistory"]["edges"]]
    assert "Đơn hàng ACC-CARE-1: 86.420.000 ₫, +4.321 điểm" in summaries
    assert "Lên hạng Kim Cương" in summaries
    assert found["npsResponses"] == [{"score": 6, "comment": "Giao hàng chậm, nhân viên dễ thương"}]
    # when the agent fixes the phone number the member gives over the phone
    fixed = await server.data(
        UPDATE,
        {"i": {"memberExternalId": "acc-care-1", "phone": "+84 912 000 111"}},
        token=INTEGRATION_KEY,
    )
    # then it is stored normalised, and the agent sees the consents: push only
    member = fixed["updateMember"]["member"]
    assert fixed["updateMember"]["errors"] == [] and member["phone"] == "0912000111"
    assert [c["channel"] for c in member["consents"] if c["granted"]] == ["PUSH"]

    # when the member edits their profile in the app and grants SMS
    edited = await server.data(
        UPDATE,
        {"i": {"displayName": "Đỗ Hồng Hạnh", "city": "Hà Nội", "email": None}},
        token=token,
    )
    assert edited["updateMember"]["errors"] == []
    assert edited["updateMember"]["member"]["city"] == "Hà Nội"
    granted = (await server.data(CONSENT, token=token))["setConsents"]
    assert granted["errors"] == []
    assert {c["channel"]: c["granted"] for c in granted["member"]["consents"]} == {
        "PUSH": True,
        "SMS": True,
        "EMAIL": False,
        "ZALO": False,
    }
    # then they see what keeps their tier: all their tier points came from one order, so a
    # year after it they must have earned the whole threshold again
    me = (await server.data(MY_TIER, token=token))["me"]
    assert me["tier"]["code"] == "ACC-CARE" and me["tierPoints"] == 4321
    status = me["tierStatus"]
    assert status["atRisk"] is True and status["pointsToKeep"] == 4321
    review = datetime.fromisoformat(status["reviewAt"])
    assert abs(review - (datetime.now(UTC) + timedelta(days=365))) < timedelta(minutes=5)
    # and their export holds what they and the agent changed
    export = (await server.data(EXPORT, token=token))["exportMemberData"]
    profile = export["data"]["profile"]
    assert (profile["displayName"], profile["phone"], profile["email"], profile["city"]) == (
        "Đỗ Hồng Hạnh",
        "0912000111",
        None,
        "Hà Nội",
    )
    assert [o["orderId"] for o in export["data"]["orders"]] == ["ACC-CARE-1"]
    assert export["data"]["nps"][0]["comment"] == "Giao hàng chậm, nhân viên dễ thương"

    # when an admin erases the member, while a process listens on the member's channel
    client = aioredis.Redis.from_url(shared_redis_url, decode_responses=True)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    channel = f"{server_env['LOYALTY_REDIS_PREFIX']}:ch:member:{member_id}"
    await pubsub.subscribe(channel)
    try:
        erased = (await server.data(ERASE, token=ADMIN_KEY))["eraseMember"]
        message = None
        async with asyncio.timeout(5):
            while message is None:
                message = await pubsub.get_message(timeout=1.0)
    finally:
        await pubsub.aclose()
        await client.aclose()
    # then it is done, the revocation went out, and the books still balance
    assert erased == {"erased": True, "errors": []}
    assert {"type": "Revoked"} in messages(message["data"])
    audit = (await server.data(AUDIT, token=ADMIN_KEY))["ledgerAudit"]
    assert audit == {"balanced": True, "accountsOutOfBalance": 0}
    # and the member is reachable by neither externalId, card nor token
    gone = await server.data('{ member(externalId: "acc-care-1") { id } }', token=ADMIN_KEY)
    assert gone["member"] is None
    scanned = await server.data(SCAN, {"c": card}, token=INTEGRATION_KEY)
    assert scanned["memberByCard"] is None
    refused = await server.gql("{ me { id } }", token=token)
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
