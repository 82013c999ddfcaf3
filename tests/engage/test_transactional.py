"""Transactional messages in Vietnamese: welcome, birthday, tier up, mission completed,
vouchers and points about to expire; each once, greeting the member by name."""

from __future__ import annotations

from datetime import date, timedelta

from core import clock
from core.settings import Settings
from engage import transactional
from engage.models import Notification
from members import service
from rewards import enrolment
from rewards.vouchers import service as vouchers
from tests.conftest import Api
from tests.engage import factories as f
from tests.factories import token_for
from tests.game import factories as game
from tests.rewards import factories as rewards


async def inbox(api: Api, settings: Settings, m: object) -> list[tuple[str, str]]:
    data = await api(f.INBOX, token=token_for(m, settings))  # type: ignore[arg-type]
    return [(n["title"], n["body"]) for n in data["myNotifications"]]


async def titles(api: Api, settings: Settings, m: object) -> list[str]:
    return [title for title, _ in await inbox(api, settings, m)]


async def test_a_new_member_is_welcomed_by_name(api: Api, settings: Settings) -> None:
    # given a program with welcome points
    clock.freeze(f.NOON_LOCAL)
    await f.program(welcome_points=50)
    # when a member enrols
    m = await enrolment.enroll(service.Enrolment(external_id="w-1", display_name="Trần Thị Mai"))
    # then their inbox welcomes them by name
    ((title, body),) = await inbox(api, settings, m)
    assert title == "Chào mừng Trần Thị Mai!"
    assert body.startswith("Cảm ơn bạn đã tham gia chương trình thành viên.")


async def test_tier_up_lands_in_the_inbox_once(api: Api, settings: Settings) -> None:
    # given a Gold tier, and a member's first order below it (their inbox holds the welcome)
    clock.freeze(f.NOON_LOCAL)
    await f.tier("MEMBER", 0)
    await f.tier("GOLD", 300, name="Gold")
    m = await f.member(display_name="Lê Văn Hùng")
    await f.order(m, 2_000_000)
    assert await titles(api, settings, m) == ["Chào mừng Lê Văn Hùng!"]
    # when an order lifts the member into Gold
    await f.order(m, 4_000_000)
    # then the inbox says so, once, by name; a further order in Gold adds nothing
    await f.order(m, 1_000_000)
    tier_up, _welcome = await inbox(api, settings, m)
    assert tier_up == (
        "Chúc mừng bạn lên hạng Gold",
        "Lê Văn Hùng ơi, bạn đã lên hạng Gold. Khám phá ngay những ưu đãi dành riêng cho hạng mới!",
    )


async def test_mission_completed_lands_in_the_inbox(api: Api, settings: Settings) -> None:
    # given a mission of two reviews, and a member who wrote one (their inbox holds the welcome)
    clock.freeze(f.NOON_LOCAL)
    await game.action_type(api, "review.posted", points=10)
    await game.mission(api, title="Viết 2 đánh giá", target=2)
    m = await f.member(display_name="Hà")
    await game.track(api, m)
    assert await titles(api, settings, m) == ["Chào mừng Hà!"]
    # when they write the second
    await game.track(api, m)
    # then the inbox says the mission is complete, by name
    assert await titles(api, settings, m) == ["Hoàn thành nhiệm vụ", "Chào mừng Hà!"]
    (note,) = await Notification.filter(member_id=m.id, kind="MISSION_COMPLETED")
    assert note.body == "Chúc mừng Hà, bạn đã hoàn thành nhiệm vụ “Viết 2 đánh giá”."
    assert note.deep_link.startswith("mission/")


async def test_expiring_vouchers_and_points_are_reminded_once(api: Api, settings: Settings) -> None:
    # given 1.250 points that expire after 30 days (10/07/2026) and a voucher granted today
    clock.freeze(f.NOON_LOCAL)
    await f.program(points_expiry_days=30)
    m = await f.member(display_name="Mai")
    await f.order(m, 25_000_000)
    offer = await rewards.offer()
    voucher = await vouchers.grant_voucher(m.id, offer.id, "test")
    # when the job runs long before anything expires
    # then nothing is said
    assert await transactional.remind_expiring() == {"vouchers": 0, "points": 0}
    # and when it runs within a week of the points' expiry, they are reminded once
    clock.freeze(f.NOON_LOCAL + timedelta(days=24))
    assert await transactional.remind_expiring() == {"vouchers": 0, "points": 1}
    assert await transactional.remind_expiring() == {"vouchers": 0, "points": 0}
    assert (
        "Điểm sắp hết hạn",
        "Mai ơi, 1.250 điểm của bạn sẽ hết hạn vào ngày 10/07/2026. Dùng ngay kẻo lỡ!",
    ) in await inbox(api, settings, m)
    # and within 3 days of the voucher's expiry, it is reminded once, with its code
    clock.freeze(voucher.expires_at - timedelta(days=2))
    assert (await transactional.remind_expiring())["vouchers"] == 1
    assert (await transactional.remind_expiring())["vouchers"] == 0
    expires = clock.local(voucher.expires_at, "Asia/Ho_Chi_Minh").strftime("%d/%m/%Y")
    assert (
        "Voucher sắp hết hạn",
        f"Voucher {voucher.code} của bạn sẽ hết hạn vào ngày {expires}. Dùng ngay nhé!",
    ) in await inbox(api, settings, m)


async def test_birthday_greetings_go_on_the_day_once_a_year(api: Api, settings: Settings) -> None:
    # given members born on 10 June, on 11 June and on 29 February
    clock.freeze(f.NOON_LOCAL)  # 10 June 2026, 10:00 local
    today = await f.member(display_name="Lan", birthday=date(1990, 6, 10))
    tomorrow = await f.member(birthday=date(1990, 6, 11))
    leap = await f.member(birthday=date(1992, 2, 29))
    # when the job runs on 10 June (twice)
    assert await transactional.greet_birthdays() == 1
    assert await transactional.greet_birthdays() == 0
    # then only today's member is greeted, by name
    assert await titles(api, settings, today) == ["Chúc mừng sinh nhật Lan!", "Chào mừng Lan!"]
    assert await titles(api, settings, tomorrow) == [f.welcome(tomorrow)]
    # and in a year without 29 February, its members are greeted on 28 February
    clock.freeze(f.at(2027, 2, 28, 3))
    assert await transactional.greet_birthdays() == 1
    assert await titles(api, settings, leap) == [
        f"Chúc mừng sinh nhật {leap.display_name}!",
        f.welcome(leap),
    ]
