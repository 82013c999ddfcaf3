"""Notification campaigns through the API: delivery, quiet hours, the weekly cap, cancelling,
and delivery that survives a crash without delivering twice."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from core import clock
from core.settings import Settings
from engage import background, campaigns
from engage.models import Notification, NotificationCampaign
from members.models import Member
from tests import backends
from tests.conftest import Api
from tests.engage import factories as f
from tests.factories import token_for

# 22:00 in Ho Chi Minh City: inside the default quiet hours 21:00..08:00.
LATE_EVENING = f.at(2026, 6, 10, 15, 0)
NEXT_MORNING_END = f.at(2026, 6, 11, 1, 0)  # 08:00 local


async def june_members_and_others(n: int = 3) -> tuple[list[Member], Member]:
    june = [await f.june_member(external_id=f"june-{i}") for i in range(n)]
    other = await f.member(external_id="may", birthday=date(1990, 5, 20))
    return june, other


async def inbox(api: Api, m: Member, settings: Settings) -> list[dict[str, object]]:
    data = await api(f.INBOX, token=token_for(m, settings))
    return data["myNotifications"]  # type: ignore[no-any-return]


async def test_campaign_outside_quiet_hours_lands_in_each_targeted_inbox(
    api: Api, settings: Settings
) -> None:
    # given three June members and one May member, at 10:00 local
    clock.freeze(f.NOON_LOCAL)
    june, other = await june_members_and_others()
    seg = await f.segment(api, "June", birthdayMonth=6)
    # when a campaign to the June segment is created to go now
    sent = await f.campaign(
        api, title="Happy birthday month", deepLink="voucher-offer/7", segmentId=seg["id"]
    )
    # then it is sent, and each June member (only they) holds it in their inbox
    status = await f.campaign_status(api, sent["id"])
    assert status["status"] == "SENT"
    assert status["stats"] == {
        "targeted": 3,
        "delivered": 3,
        "suppressedByCap": 0,
        "deferredByQuietHours": 0,
    }
    for m in june:
        note, welcome = await inbox(api, m, settings)
        assert note["title"] == "Happy birthday month" and welcome["title"] == f.welcome(m)
        assert note["deepLink"] == "voucher-offer/7" and note["readAt"] is None
    assert [n["title"] for n in await inbox(api, other, settings)] == [f.welcome(other)]


async def test_campaign_without_segment_goes_to_everyone(api: Api, settings: Settings) -> None:
    # given two June members and one May member
    clock.freeze(f.NOON_LOCAL)
    _, other = await june_members_and_others(2)
    # when a campaign without a segment goes
    sent = await f.campaign(api)
    # then all three have it
    assert (await f.campaign_status(api, sent["id"]))["stats"]["delivered"] == 3
    assert [n["title"] for n in await inbox(api, other, settings)] == [
        "Flash sale",
        f.welcome(other),
    ]


async def test_campaign_during_quiet_hours_is_held_until_they_end(
    api: Api, settings: Settings
) -> None:
    # given June members, and 22:00 local (quiet hours 21:00..08:00)
    clock.freeze(LATE_EVENING)
    june, _ = await june_members_and_others()
    seg = await f.segment(api, "June", birthdayMonth=6)
    # when a campaign to them is created to go now
    held = await f.campaign(api, segmentId=seg["id"])
    # then it is held: still scheduled, counted as deferred, nobody has it yet
    status = await f.campaign_status(api, held["id"])
    assert status["status"] == "SCHEDULED"
    assert status["stats"]["deferredByQuietHours"] == 3
    assert [n["title"] for n in await inbox(api, june[0], settings)] == [f.welcome(june[0])]
    # and the job before the end of quiet hours still holds it
    clock.freeze(NEXT_MORNING_END - timedelta(minutes=1))
    assert await campaigns.deliver_due() == 0
    assert await Notification.filter(campaign_id=int(held["id"])).count() == 0
    # when quiet hours end and the job runs
    clock.freeze(NEXT_MORNING_END)
    assert await campaigns.deliver_due() == 3
    # then every June member has it, created when quiet hours ended
    status = await f.campaign_status(api, held["id"])
    assert status["status"] == "SENT"
    assert status["stats"] == {
        "targeted": 3,
        "delivered": 3,
        "suppressedByCap": 0,
        "deferredByQuietHours": 3,
    }
    for m in june:
        note, _welcome = await inbox(api, m, settings)
        assert note["createdAt"].startswith("2026-06-11T01:00")


async def test_scheduled_campaign_waits_for_send_at(api: Api, settings: Settings) -> None:
    # given a June and a May member
    clock.freeze(f.NOON_LOCAL)
    await june_members_and_others(1)
    # when a campaign is scheduled two hours later
    later = f.NOON_LOCAL + timedelta(hours=2)
    scheduled = await f.campaign(api, sendAt=later.isoformat())
    # then it waits, and the job delivers nothing before then
    assert scheduled["status"] == "SCHEDULED"
    assert await campaigns.deliver_due() == 0
    # and when the time comes, the job delivers it to both
    clock.freeze(later)
    assert await campaigns.deliver_due() == 2
    assert (await f.campaign_status(api, scheduled["id"]))["status"] == "SENT"


async def test_quiet_hours_spanning_midnight_hold_an_early_morning_campaign(api: Api) -> None:
    # given 02:00 local, inside 21:00..08:00; the hold ends at 08:00 the same day
    clock.freeze(f.at(2026, 6, 10, 19, 0))
    await f.june_member()
    # when a campaign is created to go now
    held = await f.campaign(api)
    # then it is held until 08:00
    row = await NotificationCampaign.get(id=int(held["id"]))
    assert row.status == "SCHEDULED" and row.due_at == f.at(2026, 6, 11, 1, 0)


async def test_without_quiet_hours_a_late_campaign_goes_at_once(api: Api) -> None:
    # given 22:00 local, and no quiet hours
    clock.freeze(LATE_EVENING)
    await f.program(quiet_hours_start=None, quiet_hours_end=None)
    await f.june_member()
    # when a campaign is created to go now
    sent = await f.campaign(api)
    # then it is sent at once
    assert (await f.campaign_status(api, sent["id"]))["status"] == "SENT"


async def test_weekly_cap_suppresses_a_second_campaign_that_week(
    api: Api, settings: Settings
) -> None:
    # given a cap of 1 campaign notification per member per 7 days
    clock.freeze(f.NOON_LOCAL)
    await f.program(max_notifications_per_week=1)
    june, other = await june_members_and_others()
    seg = await f.segment(api, "June", birthdayMonth=6)
    await f.campaign(api, title="First", segmentId=seg["id"])
    # when a second campaign goes to everyone three days later
    clock.advance(timedelta(days=3))
    second = await f.campaign(api, title="Second")
    # then the June members are suppressed by the cap and only the other member gets it
    stats = (await f.campaign_status(api, second["id"]))["stats"]
    assert stats == {
        "targeted": 4,
        "delivered": 1,
        "suppressedByCap": 3,
        "deferredByQuietHours": 0,
    }
    assert [n["title"] for n in await inbox(api, june[0], settings)] == [
        "First",
        f.welcome(june[0]),
    ]
    assert [n["title"] for n in await inbox(api, other, settings)] == ["Second", f.welcome(other)]
    # and once the first is more than 7 days old, a third reaches them again
    clock.advance(timedelta(days=4, seconds=1))
    third = await f.campaign(api, title="Third", segmentId=seg["id"])
    assert (await f.campaign_status(api, third["id"]))["stats"]["delivered"] == 3


async def test_transactional_notifications_do_not_count_against_the_cap(
    api: Api, settings: Settings
) -> None:
    from engage.models import NotificationKind
    from engage.notifications import Draft, notify

    # given a cap of one campaign a week, and a member sent three transactional messages
    clock.freeze(f.NOON_LOCAL)
    await f.program(max_notifications_per_week=1)
    m = await f.june_member()
    for n in range(3):
        await notify(Draft(m.id, NotificationKind.MISSION_COMPLETED, f"mission:{n}", "Done", "x"))
    # when a campaign goes
    sent = await f.campaign(api)
    # then it still reaches the member
    assert (await f.campaign_status(api, sent["id"]))["stats"]["delivered"] == 1
    assert len(await inbox(api, m, settings)) == 5  # the welcome, 3 transactional, the campaign


async def test_cancelling_works_until_sending_starts(api: Api) -> None:
    # given a member, and a campaign scheduled an hour later
    clock.freeze(f.NOON_LOCAL)
    await f.june_member()
    cancel = """mutation($id: ID!) { cancelNotificationCampaign(id: $id) {
      campaign { id status } errors { code field } } }"""
    later = await f.campaign(api, sendAt=(f.NOON_LOCAL + timedelta(hours=1)).isoformat())
    # when a scheduled campaign is cancelled
    done = (await api.admin(cancel, {"id": later["id"]}))["cancelNotificationCampaign"]
    assert done == {"campaign": {"id": later["id"], "status": "CANCELLED"}, "errors": []}
    # then it is never delivered
    clock.advance(timedelta(hours=2))
    assert await campaigns.deliver_due() == 0
    assert await Notification.filter(campaign_id=int(later["id"])).count() == 0
    # and a sent campaign cannot be cancelled
    sent = await f.campaign(api)
    refused = (await api.admin(cancel, {"id": sent["id"]}))["cancelNotificationCampaign"]
    assert refused["errors"] == [{"code": "NOT_ELIGIBLE", "field": ["id"]}]
    missing = (await api.admin(cancel, {"id": "99999"}))["cancelNotificationCampaign"]
    assert missing["errors"] == [{"code": "NOT_FOUND", "field": ["id"]}]


async def test_bad_campaign_input_names_the_field_and_creates_nothing(api: Api) -> None:
    # given campaign inputs each wrong in one field
    cases = [
        ({"title": " ", "body": "b"}, ["input", "title"]),
        ({"title": "t", "body": ""}, ["input", "body"]),
        ({"title": "t", "body": "b", "segmentId": "4242"}, ["input", "segmentId"]),
        ({"title": "t" * 101, "body": "b"}, ["input", "title"]),
    ]
    # when an admin creates each
    for given, field in cases:
        payload = (await api.admin(f.CREATE_CAMPAIGN, {"input": given}))[
            "createNotificationCampaign"
        ]
        # then each is refused naming that field, and none is created
        assert payload["campaign"] is None and payload["errors"][0]["field"] == field, given
    assert await NotificationCampaign.all().count() == 0


async def test_a_crash_mid_campaign_and_a_rerun_deliver_once_to_each_member(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given 7 members, batches of 2, and a process that dies while building the third batch
    clock.freeze(f.NOON_LOCAL)
    for _ in range(7):
        await f.member()
    monkeypatch.setattr(campaigns, "BATCH", 2)
    real_received = campaigns.received
    calls = 0

    def dying(row: dict[str, object], created: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 5:
            raise RuntimeError("process died")
        return real_received(row, created)  # type: ignore[arg-type]

    monkeypatch.setattr(campaigns, "received", dying)
    row = await campaigns.create_campaign(campaigns.CampaignData("Sale", "Now"))
    await background.drain()  # the kicked delivery dies in batch three
    assert await Notification.filter(campaign_id=row.id).count() == 4
    # when the job reruns (twice, as two ticks would)
    monkeypatch.setattr(campaigns, "received", real_received)
    await campaigns.deliver_due()
    await campaigns.deliver_due()
    # then every member has exactly one notification and the stats add up
    per_member = await Notification.filter(campaign_id=row.id).values_list("member_id", flat=True)
    assert sorted(per_member) == sorted(await Member.all().values_list("id", flat=True))
    row = await NotificationCampaign.get(id=row.id)
    assert (row.status, row.targeted, row.delivered) == ("SENT", 7, 7)


@pytest.mark.skipif(not backends.ON_POSTGRES, reason="races need PostgreSQL")
async def test_concurrent_deliveries_never_deliver_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    # given 30 members, batches of 3, and a campaign due now
    clock.freeze(f.NOON_LOCAL)
    for _ in range(30):
        await f.member()
    monkeypatch.setattr(campaigns, "BATCH", 3)
    row = await NotificationCampaign.create(
        title="Race", body="b", due_at=clock.now(), created_at=clock.now()
    )
    # when six deliveries of it run at once
    results = await asyncio.gather(*(campaigns.deliver(row.id) for _ in range(6)))
    # then each member got it once
    assert sum(results) == 30
    assert await Notification.filter(campaign_id=row.id).count() == 30
    row = await NotificationCampaign.get(id=row.id)
    assert (row.status, row.delivered) == ("SENT", 30)


async def test_inbox_unread_and_mark_read(api: Api, settings: Settings) -> None:
    # given two members, and two campaigns to both
    clock.freeze(f.NOON_LOCAL)
    m = await f.june_member()
    someone = await f.june_member()
    await f.campaign(api, title="One")
    await f.campaign(api, title="Two")
    # when the member reads their inbox
    token = token_for(m, settings)
    notes = (await api(f.INBOX, token=token))["myNotifications"]
    # then they have both, newest first, after their welcome
    assert [n["title"] for n in notes] == ["Two", "One", f.welcome(m)]
    # and when they mark One read, Two and the welcome are left unread
    mark = """mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) {
      unreadCount errors { code field } } }"""
    done = (await api(mark, {"ids": [notes[1]["id"]]}, token=token))["markNotificationsRead"]
    assert done == {"unreadCount": 2, "errors": []}
    unread = (await api(f.INBOX, {"unread": True}, token=token))["myNotifications"]
    assert [n["title"] for n in unread] == ["Two", f.welcome(m)]
    # and someone else's notification is not found, and nothing is marked
    theirs = (await api(f.INBOX, token=token_for(someone, settings)))["myNotifications"][0]
    refused = (await api(mark, {"ids": [notes[0]["id"], theirs["id"]]}, token=token))[
        "markNotificationsRead"
    ]
    assert refused["errors"] == [{"code": "NOT_FOUND", "field": ["ids"]}]
    assert len((await api(f.INBOX, {"unread": True}, token=token))["myNotifications"]) == 2


async def test_inbox_and_nps_are_for_members_and_campaigns_for_admins(api: Api) -> None:
    # given member-only, admin-only and anonymous-refused fields, and callers outside them
    for query, token in (
        ("{ myNotifications { id } }", "test-integration-key"),
        ("mutation { submitNps(score: 9) { pointsAwarded } }", "test-admin-key"),
        ("{ campaigns { id } }", "test-integration-key"),
        (
            'mutation { createNotificationCampaign(input: {title: "t", body: "b"}) {'
            " campaign { id } } }",
            "test-integration-key",
        ),
    ):
        # when each caller calls them
        body = await api.raw(query, token=token)
        # then each is refused, and nothing is written
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", query
    body = await api.raw("{ myNotifications { id } }")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await NotificationCampaign.all().count() == 0
