"""A tier upgrade reaches the member's app live, on the real server.

The acceptance server is shared, so this creates only one tier, with a threshold no other
test reaches and a neutral multiplier.
"""

from __future__ import annotations

import contextlib

from tests.acceptance.conftest import Server, next_message, socket_for, subscribe
from tests.conftest import ADMIN_KEY, INTEGRATION_KEY

EVENTS = """subscription { memberEvents { __typename
  ... on TierChanged { from { code } to { code name perks } at } } }"""


async def test_an_upgrade_publishes_tier_changed_to_the_members_socket(server: Server) -> None:
    # given a tier above every other, and a member enrolled with a token
    upsert = await server.data(
        """mutation($i: TierInput!) { upsertTier(input: $i) { errors { code field } } }""",
        {"i": {"code": "ACC-LIVE", "name": "Live", "threshold": 987_654, "perks": ["Lounge"]}},
        token=ADMIN_KEY,
    )
    assert upsert["upsertTier"]["errors"] == []
    enrolled = await server.data(
        """mutation { enrollMember(input: {externalId: "acc-tier-live", displayName: "Vy"}) {
            member { id } errors { code } } }""",
        token=ADMIN_KEY,
    )
    assert enrolled["enrollMember"]["errors"] == []
    token = (
        await server.data(
            """mutation { issueMemberToken(memberExternalId: "acc-tier-live") { token } }""",
            token=ADMIN_KEY,
        )
    )["issueMemberToken"]["token"]

    # and the member's app subscribed to their events
    async with socket_for(server, token) as ws:
        await subscribe(ws, EVENTS)
        received = None
        # Subscribing has no acknowledgement: retry small orders until the socket is live,
        # then one order large enough to cross the threshold.
        for attempt in range(10):
            await server.data(
                """mutation($i: RecordOrderInput!) { recordOrder(input: $i) {
                    errors { code } } }""",
                {
                    "i": {
                        "orderId": f"acc-tier-warm-{attempt}",
                        "memberExternalId": "acc-tier-live",
                        "amount": "20000",
                    }
                },
                token=INTEGRATION_KEY,
            )
            with contextlib.suppress(TimeoutError):
                await next_message(ws, wait=1.0)
                break
        # when one order large enough to cross the threshold is recorded
        await server.data(
            """mutation($i: RecordOrderInput!) { recordOrder(input: $i) { errors { code } } }""",
            {
                "i": {
                    "orderId": "acc-tier-big",
                    "memberExternalId": "acc-tier-live",
                    "amount": "19753080000",
                }
            },
            token=INTEGRATION_KEY,
        )
        for _ in range(10):
            message = await next_message(ws)
            event = message["payload"]["data"]["memberEvents"]
            if event["__typename"] == "TierChanged":
                received = event
                break
    # then the app hears TierChanged into the new tier, and me shows it
    assert received is not None
    # Null unless another test's tier lies below (the server is shared).
    assert received["from"] is None or received["from"]["code"] != "ACC-LIVE"
    assert received["to"] == {"code": "ACC-LIVE", "name": "Live", "perks": ["Lounge"]}
    me = await server.data(
        "{ me { tier { code } tierPoints tierPointsToNext nextTier { code } } }", token=token
    )
    assert me["me"]["tier"] == {"code": "ACC-LIVE"}
    assert me["me"]["tierPointsToNext"] == 0 and me["me"]["nextTier"] is None
