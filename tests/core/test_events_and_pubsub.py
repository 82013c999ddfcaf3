"""Events go out after commit (never after a rollback); pub/sub reaches listeners."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest

from core import events, pubsub
from core.errors import InvalidInput
from members.models import Member
from tests import factories


@dataclass
class Ping(events.MemberEvent):
    member_id: int

    def message(self) -> dict[str, Any]:
        return {"type": "Ping"}


async def test_events_are_dispatched_after_commit_and_dropped_on_rollback() -> None:
    # given a handler of Ping that checks the member is visible when it runs
    seen: list[Ping] = []

    async def handler(event: Ping) -> None:
        # runs after commit: the member written in the same unit is visible
        assert await Member.filter(id=event.member_id).exists()
        seen.append(event)

    events.on(Ping, handler)
    try:
        member = await factories.member()
        # when a unit of work emits Ping and commits
        async with events.unit_of_work():
            events.emit(Ping(member.id))
            assert seen == []  # not before commit
        # then the handler ran once, after commit
        assert seen == [Ping(member.id)]
        # and when a unit that emitted Ping rolls back
        with pytest.raises(InvalidInput):
            async with events.unit_of_work():
                await Member.filter(id=member.id).update(display_name="changed")
                events.emit(Ping(member.id))
                raise InvalidInput("no", "input.x")
        # then the handler did not run again, and the unit's write is gone
        assert seen == [Ping(member.id)]
        assert (await Member.get(id=member.id)).display_name != "changed"
    finally:
        events.off(Ping, handler)


async def test_emit_outside_a_unit_of_work_is_a_bug() -> None:
    """Given no unit of work, when an event is emitted, then it is refused as a bug."""
    with pytest.raises(RuntimeError):
        events.emit(Ping(1))


async def test_member_events_are_published_to_the_member_channel() -> None:
    # given a member listening to their channel
    member = await factories.member()
    stream = pubsub.subscribe(f"member:{member.id}")
    first = asyncio.ensure_future(stream.__anext__())
    await asyncio.sleep(0.2)  # let the hub subscribe
    # when a unit of work emits a member event
    async with events.unit_of_work():
        events.emit(Ping(member.id))
    # then it is published on the member's channel
    assert await asyncio.wait_for(first, 5) == {"type": "Ping"}
    await stream.aclose()


async def test_pubsub_fans_out_to_every_listener_of_a_channel() -> None:
    # given three listeners of one channel
    streams = [pubsub.subscribe("fan-out") for _ in range(3)]
    waits = [asyncio.ensure_future(s.__anext__()) for s in streams]
    await asyncio.sleep(0.2)
    # when a message is published to it and another to another channel
    await pubsub.publish("fan-out", {"n": 1})
    await pubsub.publish("elsewhere", {"n": 2})
    # then each listener hears the first, and only it
    assert await asyncio.gather(*(asyncio.wait_for(w, 5) for w in waits)) == [{"n": 1}] * 3
    for s in streams:
        await s.aclose()


async def test_a_listener_may_hear_only_payloads_containing_a_text() -> None:
    # given a listener of every payload and one of those containing "Revoked", on a channel
    async with (
        pubsub.hub.listen("filtered") as everything,
        pubsub.hub.listen("filtered", containing='"Revoked"') as revocations,
    ):
        await asyncio.sleep(0.2)  # let the hub subscribe
        # when an event and then a revocation are published on it
        await pubsub.publish("filtered", {"type": "PointsChanged", "delta": 5})
        await pubsub.publish("filtered", {"type": "Revoked"})
        # then the first listener hears both, in order, and the other the revocation alone
        heard = [await asyncio.wait_for(everything.get(), 5) for _ in range(2)]
        assert [pubsub.messages(h) for h in heard] == [
            [{"type": "PointsChanged", "delta": 5}],
            [{"type": "Revoked"}],
        ]
        assert pubsub.messages(await asyncio.wait_for(revocations.get(), 5)) == [
            {"type": "Revoked"}
        ]
        assert revocations.empty()
