"""Transactional notifications: tier up, mission completed, vouchers and points about to expire."""

from __future__ import annotations

from datetime import timedelta

from core import clock
from core.settings import Settings
from engage import transactional
from engage.models import Notification
from rewards.vouchers import service as vouchers
from tests.conftest import Api
from tests.engage import factories as f
from tests.factories import token_for
from tests.game import helpers as game
from tests.rewards import voucher_factories


async def titles(api: Api, settings: Settings, m: object) -> list[str]:
    data = await api(f.INBOX, token=token_for(m, settings))  # type: ignore[arg-type]
    return [n["title"] for n in data["myNotifications"]]


async def test_tier_up_lands_in_the_inbox_once(api: Api, settings: Settings) -> None:
    clock.freeze(f.NOON_LOCAL)
    await f.tier("MEMBER", 0)
    await f.tier("GOLD", 300, name="Gold")
    m = await f.member()
    await f.order(m, 2_000_000)
    assert await titles(api, settings, m) == []
    # when an order lifts the member into Gold
    await f.order(m, 4_000_000)
    # then the inbox says so, once; a further order in Gold adds nothing
    await f.order(m, 1_000_000)
    assert await titles(api, settings, m) == ["Welcome to Gold"]


async def test_mission_completed_lands_in_the_inbox(api: Api, settings: Settings) -> None:
    clock.freeze(f.NOON_LOCAL)
    await game.action_type(api, "review.posted", points=10)
    await game.mission(api, title="Write 2 reviews", target=2)
    m = await f.member()
    await game.track(api, m)
    assert await titles(api, settings, m) == []
    await game.track(api, m)
    assert await titles(api, settings, m) == ["Mission complete"]
    (note,) = await Notification.filter(member_id=m.id)
    assert note.body == "You completed “Write 2 reviews”." and note.deep_link.startswith("mission/")


async def test_expiring_vouchers_and_points_are_reminded_once(api: Api, settings: Settings) -> None:
    # given points that expire after 30 days and a voucher granted today
    clock.freeze(f.NOON_LOCAL)
    await f.program(points_expiry_days=30)
    m = await f.member()
    await f.order(m, 1_000_000)
    offer = await voucher_factories.offer()
    voucher = await vouchers.grant_voucher(m.id, offer.id, "test")
    # when the job runs long before anything expires, nothing is said
    assert await transactional.remind_expiring() == {"vouchers": 0, "points": 0}
    # when it runs within a week of the points' expiry, they are reminded once
    clock.freeze(f.NOON_LOCAL + timedelta(days=24))
    assert await transactional.remind_expiring() == {"vouchers": 0, "points": 1}
    assert await transactional.remind_expiring() == {"vouchers": 0, "points": 0}
    assert "Points expiring soon" in await titles(api, settings, m)
    # and within 3 days of the voucher's expiry, it is reminded once
    clock.freeze(voucher.expires_at - timedelta(days=2))
    assert (await transactional.remind_expiring())["vouchers"] == 1
    assert (await transactional.remind_expiring())["vouchers"] == 0
    assert "Your voucher expires soon" in await titles(api, settings, m)
