"""`loyalty seed-demo` fills a fresh database with a believable shop, and only once."""

from __future__ import annotations

from game.models import Action, Mission
from members.models import Member, Program
from rewards.badges import Badge
from rewards.earning_models import Tier
from rewards.member_state import MemberState
from rewards.orders import Order
from rewards.spin_wheel.models import SpinWheel
from rewards.vouchers.models import VoucherOffer
from server.demo import MEMBERS, seed
from tests.conftest import Api

VIETNAMESE_LETTERS = set("ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ")


async def counts() -> dict[str, int]:
    return {
        "members": await Member.all().count(),
        "orders": await Order.all().count(),
        "actions": await Action.all().count(),
        "missions": await Mission.all().count(),
        "tiers": await Tier.all().count(),
        "badges": await Badge.all().count(),
        "offers": await VoucherOffer.all().count(),
        "wheels": await SpinWheel.all().count(),
    }


async def test_seed_demo_builds_a_shop_once(api: Api) -> None:
    # given a fresh database, when the demo is seeded
    summary = await seed()
    first = await counts()
    # then there are 50 members with Vietnamese names, phones and birthdays
    assert "50 members enrolled" in summary
    assert first["members"] == MEMBERS
    members = await Member.all()
    assert sum(1 for m in members if set(m.display_name.lower()) & VIETNAMESE_LETTERS) > 40
    assert all(m.phone and m.phone.startswith("0") and len(m.phone) == 10 for m in members)
    assert all(m.birthday for m in members)
    # four tiers, each held by someone
    tiers = {t.code: t.name for t in await Tier.all()}
    assert tiers == {
        "MEMBER": "Thành viên",
        "SILVER": "Bạc",
        "GOLD": "Vàng",
        "DIAMOND": "Kim Cương",
    }
    held = {row.tier_code for row in await MemberState.all()}
    assert {"SILVER", "GOLD", "DIAMOND"} <= held
    # orders in whole VND, and actions feeding a mission
    orders = await Order.all()
    assert len(orders) > 100
    assert all(o.amount == o.amount.to_integral_value() and o.amount >= 45_000 for o in orders)
    assert first["actions"] > 0 and first["missions"] == 1
    # something to spend points on
    assert first["offers"] == 1 and first["wheels"] == 1 and first["badges"] == 1
    assert (await Program.get(id=1)).name == "Cà Phê Sài Gòn Rewards"
    # members have points and show them through the API
    data = await api.admin(
        "{ members(first: 100) { totalCount edges { node { pointsBalance } } } }"
    )
    assert data["members"]["totalCount"] == MEMBERS
    assert sum(e["node"]["pointsBalance"] for e in data["members"]["edges"]) > 0

    # when it is seeded again, nothing is duplicated
    again = await seed()
    assert await counts() == first
    assert "0 members enrolled, 0 orders recorded, 0 check-ins tracked" in again
