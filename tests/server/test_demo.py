"""`loyalty seed-demo` tells a coffee shop's year: members joining over the year, orders
and their points dated when they happened, boards that differ by period, analytics that
read like a small shop's year; and it does so only once."""

from __future__ import annotations

from datetime import timedelta

from core import clock
from engage import analytics
from engage.models import MemberRfm, NotificationCampaign
from game.leaderboards import reading
from game.leaderboards.windows import Period
from game.models import Action, Mission, MissionProgress
from members.models import Member, Program
from rewards.ledger.models import Lot
from rewards.member_state import MemberState
from rewards.orders.models import Order
from rewards.spin_wheel.models import SpinResult, SpinWheel
from rewards.tiers.models import Tier
from rewards.vouchers.models import Voucher
from server.demo import LAST_CAMPAIGN, MEMBERS, seed
from tests.conftest import Api

VIETNAMESE_LETTERS = set("ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ")


async def counts() -> dict[str, int]:
    return {
        "members": await Member.all().count(),
        "orders": await Order.all().count(),
        "actions": await Action.all().count(),
        "lots": await Lot.all().count(),
        "missions": await Mission.all().count(),
        "spins": await SpinResult.all().count(),
        "vouchers": await Voucher.all().count(),
        "campaigns": await NotificationCampaign.all().count(),
        "tiers": await Tier.all().count(),
    }


async def test_seed_demo_tells_a_year_of_a_coffee_shop_once(api: Api) -> None:
    # given a fresh database, when the demo is seeded
    summary = await seed()
    now = clock.now()
    first = await counts()
    assert f"{MEMBERS} members enrolled" in summary
    # then 50 members with Vietnamese names, phones and birthdays joined over the year
    people = await Member.all()
    assert len(people) == MEMBERS
    assert sum(1 for m in people if set(m.display_name.lower()) & VIETNAMESE_LETTERS) > 40
    assert all(m.phone and m.phone.startswith("0") and len(m.phone) == 10 for m in people)
    assert all(m.birthday for m in people)
    joined = sorted(m.enrolled_at for m in people)
    assert now - timedelta(days=366) <= joined[0] < now - timedelta(days=300)
    assert joined[-1] > now - timedelta(days=45)
    assert len({(d.year, d.month) for d in joined}) >= 6
    # and bought coffee-shop amounts all year long
    bought = await Order.all()
    assert len(bought) > 1000
    assert all(35_000 <= o.amount <= 250_000 and o.amount % 1000 == 0 for o in bought)
    assert len({(o.occurred_at.year, o.occurred_at.month) for o in bought}) >= 12
    # with each order's points dated when it happened, not when the demo ran
    earned = {lot.order_id: lot.earned_at for lot in await Lot.filter(order_id__isnull=False)}
    assert all(earned[o.order_id] == o.occurred_at for o in bought if o.order_id in earned)
    assert len(earned) > 0.9 * len(bought)
    # four tiers, each held by someone
    assert {t.code: t.name for t in await Tier.all()} == {
        "MEMBER": "Thành viên",
        "SILVER": "Bạc",
        "GOLD": "Vàng",
        "DIAMOND": "Kim Cương",
    }
    assert {"SILVER", "GOLD", "DIAMOND"} <= {row.tier_code for row in await MemberState.all()}
    # a few missions half-done, a running wheel that was spun, vouchers, campaigns
    assert first["missions"] == 3
    half_done = [
        p
        for p in await MissionProgress.filter(times_completed=0).prefetch_related("mission")
        if 0 < p.progress < p.mission.target
    ]
    assert len(half_done) >= 3
    assert await SpinWheel.filter(active=True).count() == 1 and first["spins"] > 0
    assert first["vouchers"] > 0
    statuses = {c.title: c.status for c in await NotificationCampaign.all()}
    assert statuses.pop(LAST_CAMPAIGN) == "SCHEDULED"
    assert set(statuses.values()) == {"SENT"}
    # the boards of today, this week and this month differ from all-time
    boards = {p: await reading.read("points", p, 5, None, -1) for p in Period}
    assert boards[Period.ALL_TIME].participants == MEMBERS
    for period in (Period.DAILY, Period.WEEKLY, Period.MONTHLY):
        assert boards[period].participants < MEMBERS
        assert [s.score for s in boards[period].entries] != [
            s.score for s in boards[Period.ALL_TIME].entries
        ]
    # RFM scored at the end, in several segments
    segments = {row.segment for row in await MemberRfm.all()}
    assert {"CHAMPIONS", "NEW"} <= segments and segments & {"AT_RISK", "HIBERNATING"}
    # and the last 30 days read like a small shop's month
    month = await analytics.compute()
    assert month.members == MEMBERS
    assert 0 < month.new_members < 10
    assert MEMBERS / 3 < month.active_members < MEMBERS
    assert month.points_issued > month.points_redeemed > 0
    assert month.nps.responses > 0
    assert (await Program.get(id=1)).name == "Cà Phê Sài Gòn Rewards"
    # members have points and show them through the API
    data = await api.admin(
        "{ members(first: 100) { totalCount edges { node { pointsBalance } } } }"
    )
    assert data["members"]["totalCount"] == MEMBERS
    assert sum(e["node"]["pointsBalance"] for e in data["members"]["edges"]) > 0

    # when it is seeded again, nothing is added
    again = await seed()
    assert await counts() == first
    assert "nothing added" in again
