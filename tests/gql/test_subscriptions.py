"""One event, many sockets: the event is built once and each distinct selection runs once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from core import pubsub
from core.security import Role, Viewer
from core.settings import Settings
from gql.context import Context
from gql.schema import schema
from gql.subscriptions import MEMBER_EVENT_BUILDERS
from tests import factories

POINTS = "subscription { memberEvents { ... on PointsChanged { balance delta reason } } }"
OTHER = "subscription { memberEvents { __typename ... on PointsChanged { delta } } }"


async def _stream(query: str, settings: Settings, member_id: int) -> AsyncGenerator[Any, None]:
    viewer = Viewer(role=Role.MEMBER, member_id=member_id)
    found = await schema.subscribe(query, context_value=Context(settings=settings, viewer=viewer))
    assert not isinstance(found, type(None))
    return found  # type: ignore[return-value]


async def test_sockets_of_one_member_share_one_build_and_one_execution_per_selection(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given three subscriptions of one member, two with the same selection, and a counter
    # on the event's builder
    member = await factories.member()
    builds: list[dict[str, Any]] = []
    real = MEMBER_EVENT_BUILDERS["PointsChanged"]

    async def counting(message: dict[str, Any], info: Any) -> Any:
        builds.append(message)
        return await real(message, info)

    monkeypatch.setitem(MEMBER_EVENT_BUILDERS, "PointsChanged", counting)
    streams = [await _stream(q, settings, member.id) for q in (POINTS, POINTS, OTHER)]
    nexts = [asyncio.ensure_future(s.__anext__()) for s in streams]
    await asyncio.sleep(0.2)  # let the hub subscribe
    # when one PointsChanged is published on the member's channel
    message = {"type": "PointsChanged", "balance": 70, "delta": 20, "reason": "ACTION"}
    await pubsub.publish(f"member:{member.id}", message | {"at": "2026-11-29T03:00:00+00:00"})
    first, second, other = await asyncio.gather(*(asyncio.wait_for(n, 5) for n in nexts))
    # then every subscription has it, built once
    assert first.errors is None and other.errors is None
    assert first.data == {"memberEvents": {"balance": 70, "delta": 20, "reason": "ACTION"}}
    assert other.data == {"memberEvents": {"__typename": "PointsChanged", "delta": 20}}
    assert len(builds) == 1
    # and the two alike share one execution's data, the third ran its own
    assert second.data is first.data
    assert other.data is not first.data
    for s in streams:
        await s.aclose()


async def test_another_members_socket_never_shares_a_result(settings: Settings) -> None:
    # given two members subscribed with the same selection
    one, two = await factories.member(), await factories.member()
    streams = [await _stream(POINTS, settings, m.id) for m in (one, two)]
    nexts = [asyncio.ensure_future(s.__anext__()) for s in streams]
    await asyncio.sleep(0.2)
    # when each gets their own event
    for m, delta in ((one, 1), (two, 2)):
        await pubsub.publish(
            f"member:{m.id}",
            {
                "type": "PointsChanged",
                "balance": delta,
                "delta": delta,
                "reason": "ACTION",
                "at": "2026-11-29T03:00:00+00:00",
            },
        )
    got = await asyncio.gather(*(asyncio.wait_for(n, 5) for n in nexts))
    # then each sees only their own
    assert [r.data["memberEvents"]["delta"] for r in got] == [1, 2]
    for s in streams:
        await s.aclose()
