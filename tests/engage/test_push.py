"""Push: the message outbox on the PUSH channel, the webhook sender against a real HTTP
socket, retries with backoff, giving up, quiet windows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from core import clock
from core.settings import Settings
from engage import background, channel_settings, deliveries, push, senders
from engage.models import MessageDelivery, NotificationKind
from engage.notifications import Draft, notify
from members.consents import Channel
from tests.conftest import Api
from tests.engage import factories as f
from tests.engage.receivers import http_receiver

LATE_EVENING = f.at(2026, 6, 10, 15, 0)  # 22:00 in Ho Chi Minh City
QUIET_END = f.at(2026, 6, 11, 1, 0)  # 08:00 the next morning


class Recorder:
    """Stands in for the phone platforms: records what it was handed."""

    def __init__(self, fail: str | None = None) -> None:
        self.batches: list[list[senders.Message]] = []
        self.fail = fail

    async def send(self, messages: Sequence[senders.Message]) -> list[senders.Outcome]:
        if self.fail:
            return [senders.Outcome(self.fail) for _ in messages]
        self.batches.append(list(messages))
        return [senders.SENT for _ in messages]

    @property
    def titles(self) -> list[str | None]:
        return [m.title for batch in self.batches for m in batch]


async def test_campaign_pushes_go_out_once_through_the_outbox(api: Api) -> None:
    # given three members (their welcome pushes gone), and phone platforms that record
    clock.freeze(f.NOON_LOCAL)
    for _ in range(3):
        await f.member()
    recorder = Recorder()
    senders.use(Channel.PUSH, recorder)
    # when a campaign goes and the push outbox is flushed
    await f.campaign(api, title="Sale")
    await background.drain()
    await deliveries.flush()
    # then each member's push went once, and each delivery is SENT
    assert recorder.titles == ["Sale"] * 3
    rows = await MessageDelivery.all()
    assert {(r.channel, r.status, r.attempts) for r in rows} == {("PUSH", "SENT", 1)}
    assert all(r.sent_at == f.NOON_LOCAL and r.due_at is None for r in rows)


async def test_webhook_sender_retries_with_backoff_then_delivers() -> None:
    # given a member, and a push gateway that answers 503, then 502, then 200
    clock.freeze(f.NOON_LOCAL)
    m = await f.member()
    async with http_receiver([503, 502]) as receiver:
        senders.use(Channel.PUSH, push.WebhookSender(receiver.url, attempts=4, backoff=0.01))
        # when the member is notified and the push outbox is flushed
        await notify(Draft(m.id, NotificationKind.TIER_UP, "tier:x", "Gold!", "Welcome"))
        await background.drain()
        await deliveries.flush()
    # then two refusals, then accepted: the same batch three times, and it is marked sent
    assert len(receiver.bodies) == 3
    (note,) = receiver.bodies[-1]["notifications"]
    assert note["title"] == "Gold!" and note["member_id"] == m.id and note["kind"] == "TIER_UP"
    row = await MessageDelivery.get(member_id=m.id, template_key="tier.up")
    assert note["delivery_id"] == row.id and note["notification_id"] == row.notification_id
    assert (row.status, row.sent_at, row.due_at) == ("SENT", f.NOON_LOCAL, None)


async def test_a_refused_push_is_retried_later_and_given_up_after_max_attempts() -> None:
    # given a member, and phone platforms that are down
    clock.freeze(f.NOON_LOCAL)
    m = await f.member()
    senders.use(Channel.PUSH, Recorder(fail="platform down"))
    # when the member is notified and each attempt fails
    await notify(Draft(m.id, NotificationKind.TIER_UP, "tier:y", "Gold!", "Welcome"))
    await background.drain()
    waits = []
    for attempt in range(1, deliveries.MAX_ATTEMPTS + 1):
        assert await deliveries.flush() == 0
        row = await MessageDelivery.get(member_id=m.id, template_key="tier.up")
        assert (row.attempts, row.last_error, row.sent_at) == (attempt, "platform down", None)
        if row.due_at is not None:
            waits.append(row.due_at - clock.now())
            # not due again before its backoff
            assert await deliveries.flush() == 0
            clock.freeze(row.due_at)
    # then the backoff doubles: 1, 2, 4, 8 minutes; then it is given up
    assert waits == [timedelta(minutes=n) for n in (1, 2, 4, 8)]
    row = await MessageDelivery.get(member_id=m.id, template_key="tier.up")
    assert (row.status, row.due_at) == ("FAILED", None)
    # and a given up push is not sent again
    recorder = Recorder()
    senders.use(Channel.PUSH, recorder)
    await deliveries.flush()
    assert recorder.batches == []


async def test_webhook_that_refuses_a_batch_fails_it_without_endless_retries() -> None:
    # given a member, and a push gateway that answers 400
    clock.freeze(f.NOON_LOCAL)
    m = await f.member()
    async with http_receiver([400]) as receiver:
        senders.use(Channel.PUSH, push.WebhookSender(receiver.url, attempts=4, backoff=0.01))
        # when the member is notified and the push outbox is flushed
        await notify(Draft(m.id, NotificationKind.TIER_UP, "tier:z", "Gold!", "Welcome"))
        await background.drain()
        await deliveries.flush()
    # then the batch was sent once and FAILED, not retried
    assert len(receiver.bodies) == 1
    row = await MessageDelivery.get(member_id=m.id, template_key="tier.up")
    assert (row.status, row.attempts) == ("FAILED", 1)
    assert row.last_error == "push gateway answered HTTP 400"


async def test_transactional_push_waits_for_quiet_hours_but_the_inbox_does_not(
    api: Api, settings: Settings
) -> None:
    # given 22:00 local, inside quiet hours
    clock.freeze(LATE_EVENING)
    recorder = Recorder()
    senders.use(Channel.PUSH, recorder)
    m = await f.member()
    # when a transactional notification is made
    await notify(Draft(m.id, NotificationKind.MISSION_COMPLETED, "mission:1", "Done", "Well done"))
    await background.drain()
    # then it is in the inbox at once, but nothing is pushed until quiet hours end
    from tests.factories import token_for

    inbox = (await api(f.INBOX, token=token_for(m, settings)))["myNotifications"]
    assert [n["title"] for n in inbox] == ["Done", f.welcome(m)]
    await deliveries.flush()
    clock.freeze(QUIET_END - timedelta(minutes=1))
    await deliveries.flush()
    assert recorder.titles == []
    clock.freeze(QUIET_END)
    await deliveries.flush()
    assert recorder.titles == [f.welcome(m), "Done"]  # the welcome's push waited too


async def test_a_member_who_refused_push_gets_the_inbox_entry_but_no_push(api: Api) -> None:
    from members import consents

    # given a member who refused push
    clock.freeze(f.NOON_LOCAL)
    m = await f.member()
    await consents.set_consents(m.id, [(Channel.PUSH, False)], "MEMBER")
    # when they are notified
    await notify(Draft(m.id, NotificationKind.TIER_UP, "tier:q", "Gold!", "Welcome"))
    # then no push is owed them
    assert await MessageDelivery.filter(member_id=m.id, template_key="tier.up").count() == 0


def test_the_webhook_sender_is_chosen_when_its_url_is_set() -> None:
    # given no channel settings
    nothing = channel_settings.ChannelSettings.model_construct()
    # when a push webhook URL is set
    channel_settings.configure(Settings(push_webhook_url="http://push.example/hook"), nothing)
    # then the webhook sender pushes; without it, the log sender
    assert isinstance(senders.sender(Channel.PUSH), push.WebhookSender)
    channel_settings.configure(Settings(push_webhook_url=None), nothing)
    assert isinstance(senders.sender(Channel.PUSH), senders.LogSender)
