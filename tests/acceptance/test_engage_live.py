"""A campaign reaches the inbox and the open sockets of its segment, on the real server.

The acceptance server is shared: the members carry a tag of their own, and the program's
quiet hours and weekly cap are lifted for the test and put back afterwards.
"""

from __future__ import annotations

import contextlib
import secrets
from typing import Any

from tests.acceptance.conftest import Server, next_message, socket_for, subscribe
from tests.conftest import ADMIN_KEY, INTEGRATION_KEY

EVENTS = """subscription { memberEvents { __typename
  ... on NotificationReceived { notification { id title body deepLink createdAt readAt } at } } }"""
PROGRAM = """mutation($i: ProgramInput!) { updateProgram(input: $i) {
  program { quietHoursStart quietHoursEnd maxNotificationsPerWeek } errors { code } } }"""
CAMPAIGN = """mutation($i: NotificationCampaignInput!) { createNotificationCampaign(input: $i) {
  campaign { id status } errors { code message } } }"""


async def enrol(server: Server, external_id: str, birthday: str, tag: str) -> str:
    body = await server.data(
        """mutation($i: EnrollMemberInput!) { enrollMember(input: $i) { errors { code } } }""",
        {
            "i": {
                "externalId": external_id,
                "displayName": "Hà",
                "birthday": birthday,
                "tags": [tag],
            }
        },
        token=INTEGRATION_KEY,
    )
    assert body["enrollMember"]["errors"] == []
    token = await server.data(
        """mutation($e: String!) { issueMemberToken(memberExternalId: $e) { token } }""",
        {"e": external_id},
        token=INTEGRATION_KEY,
    )
    return token["issueMemberToken"]["token"]  # type: ignore[no-any-return]


async def notification_on(ws: Any, wait: float) -> dict[str, Any] | None:
    with contextlib.suppress(TimeoutError):
        message = await next_message(ws, wait=wait)
        assert message["type"] == "next", message
        event = message["payload"]["data"]["memberEvents"]
        assert event["__typename"] == "NotificationReceived"
        return event["notification"]  # type: ignore[no-any-return]
    return None


async def test_a_campaign_to_june_birthdays_lands_in_inboxes_and_on_open_sockets(
    server: Server,
) -> None:
    run = secrets.token_hex(3)
    tag = f"acc-engage-{run}"
    before = (
        await server.data(
            "{ program { quietHoursStart quietHoursEnd maxNotificationsPerWeek } }", token=ADMIN_KEY
        )
    )["program"]
    lifted = await server.data(
        PROGRAM,
        {"i": {"quietHoursStart": None, "quietHoursEnd": None, "maxNotificationsPerWeek": None}},
        token=ADMIN_KEY,
    )
    assert lifted["updateProgram"]["errors"] == []
    try:
        # given two June members and one May member with the run's tag, and a segment of
        # June birthdays among them
        june = [
            await enrol(server, f"acc-june-{run}-{n}", f"1991-06-{n + 10}", tag) for n in range(2)
        ]
        may = await enrol(server, f"acc-may-{run}", "1991-05-20", tag)
        segment = await server.data(
            """mutation($i: SegmentInput!) { createSegment(input: $i) {
              segment { id memberCount } errors { code message } } }""",
            {"i": {"name": f"June {run}", "rules": {"birthdayMonth": 6, "tags": [tag]}}},
            token=ADMIN_KEY,
        )
        assert segment["createSegment"]["segment"]["memberCount"] == 2
        segment_id = segment["createSegment"]["segment"]["id"]
        async with (
            socket_for(server, june[0]) as ws0,
            socket_for(server, june[1]) as ws1,
            socket_for(server, may) as ws_may,
        ):
            for ws in (ws0, ws1, ws_may):
                await subscribe(ws, EVENTS)
            # when a campaign to the segment goes now (retried while the subscriptions
            # come up: subscribing has no acknowledgement)
            got: list[dict[str, Any] | None] = [None, None]
            title = ""
            for attempt in range(5):
                title = f"Birthday month treat {attempt}"
                created = await server.data(
                    CAMPAIGN,
                    {
                        "i": {
                            "title": title,
                            "body": "A gift for you",
                            "deepLink": "voucher-offer/1",
                            "segmentId": segment_id,
                        }
                    },
                    token=ADMIN_KEY,
                )
                assert created["createNotificationCampaign"]["errors"] == []
                got = [await notification_on(ws0, 5.0), await notification_on(ws1, 5.0)]
                if all(got):
                    break
            # then both June sockets receive it within seconds, and the May socket nothing
            assert got[0] and got[1], "no NotificationReceived reached the June sockets"
            assert got[0]["title"] == got[1]["title"] == title
            assert got[0]["deepLink"] == "voucher-offer/1" and got[0]["readAt"] is None
            assert await notification_on(ws_may, 1.0) is None
        # and it is in each June member's inbox
        for token in june:
            inbox = await server.data("{ myNotifications { id title } }", token=token)
            assert title in [n["title"] for n in inbox["myNotifications"]]
        # (the May member holds only the welcome message every enrolment brings)
        may_inbox = await server.data("{ myNotifications { title } }", token=may)
        assert [n["title"] for n in may_inbox["myNotifications"]] == ["Chào mừng Hà!"]
    finally:
        await server.data(PROGRAM, {"i": before}, token=ADMIN_KEY)
