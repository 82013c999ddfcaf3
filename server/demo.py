"""`loyalty seed-demo`: a year of a Saigon coffee shop, told through the domain functions.

Fifty members join over the last year (a rush at the opening, then a trickle, a few in the
last weeks); each comes as their kind of customer does (office regulars every weekday,
weekend friends, people who came a few times and stopped), buys coffee-shop amounts
(35,000-250,000 VND), checks in, spins the wheel, trades points for vouchers, answers the
NPS survey. The story is replayed in time order with core.clock frozen at each moment,
so every order, ledger posting, tier change and mission step is dated when it happened,
and the daily jobs (birthdays, tier review, expiry, campaigns) run day by day as a live
server's would. At the end RFM is scored, the leaderboards are rebuilt for the current
windows (so the daily, weekly and monthly boards differ from all-time), and a campaign is
scheduled for tomorrow morning.

Idempotent: everything has a fixed key (member external ids, order ids, action keys,
names), a finished demo is recognised by its last step and left alone, and an interrupted
one is completed by replaying the story, skipping what exists.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from core import clock
from core.errors import DomainError
from engage import campaigns, nps, rfm
from engage.models import NotificationCampaign
from game import action_types
from game import actions as game_actions
from game.grants import Reward
from game.leaderboards import rebuild
from game.leaderboards.definitions import Board, Metric
from game.missions import definitions as missions
from game.missions.windows import Window
from game.models import Action, Mission
from members import service as members
from members.models import Member
from members.program import ProgramChanges, update_program
from rewards import birthdays, enrolment, promotions
from rewards.badges import service as badges
from rewards.ledger import jobs as ledger_jobs
from rewards.orders import service as orders
from rewards.orders.models import Order
from rewards.promotions import Promotion
from rewards.spin_wheel import service as spin_wheel
from rewards.spin_wheel.models import SpinResult, SpinWheel
from rewards.tiers import service as tiers
from rewards.vouchers import service as vouchers
from rewards.vouchers.models import Voucher, VoucherOffer

SHOP = "Cà Phê Sài Gòn Rewards"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
MEMBERS = 50
SEED = 2026
DAYS = 365
ONE_DAY = timedelta(days=1)

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng"]
SURNAMES += ["Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"]
MIDDLE = {"FEMALE": ["Thị", "Ngọc", "Thu", "Minh", "Bảo"], "MALE": ["Văn", "Hữu", "Đức", "Minh"]}
GIVEN = {
    "FEMALE": ["Lan", "Hoa", "Mai", "Linh", "Trang", "Hương", "Thảo", "Vy", "Ngân", "Phương"],
    "MALE": ["Anh", "Bình", "Dũng", "Hải", "Hùng", "Khang", "Long", "Nam", "Quân", "Tuấn"],
}
ASCII = str.maketrans(
    "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ",
    "aaaaaaaaaaaaaaaaaeeeeeeeeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyyd",
)
CARRIERS = ["090", "091", "093", "097", "098", "086", "088", "070", "079", "032"]
STORES = ["store:quan1", "store:quan3", "store:thaodien"]
# The menu, in thousands of VND: an order is one to three of these (a group order more).
MENU = [35, 39, 45, 45, 49, 55, 59, 65, 29, 35, 45]
LOW, HIGH = 35, 250

TIERS = [
    tiers.TierData(code="MEMBER", name="Thành viên", threshold=0, perks=["Tích 5% mỗi đơn"]),
    tiers.TierData(
        code="SILVER",
        name="Bạc",
        threshold=100,
        earn_multiplier=Decimal("1.1"),
        voucher_discount_percent=Decimal(5),
        perks=["Nhân 1,1 điểm", "Giảm 5% voucher"],
    ),
    tiers.TierData(
        code="GOLD",
        name="Vàng",
        threshold=300,
        earn_multiplier=Decimal("1.25"),
        voucher_discount_percent=Decimal(10),
        perks=["Nhân 1,25 điểm", "Giảm 10% voucher", "Ly size L miễn phí ngày sinh nhật"],
    ),
    tiers.TierData(
        code="DIAMOND",
        name="Kim Cương",
        threshold=600,
        earn_multiplier=Decimal("1.5"),
        voucher_discount_percent=Decimal(15),
        perks=["Nhân 1,5 điểm", "Giảm 15% voucher", "Hàng ưu tiên"],
    ),
]
CHECKIN = "checkin.store"
REVIEW = "review.written"
ACTIONS = [
    action_types.ActionTypeData(key=CHECKIN, name="Check-in tại quán", points=5, daily_cap=1),
    action_types.ActionTypeData(key=REVIEW, name="Viết đánh giá", points=20, daily_cap=1),
]
BADGE = "khach-quen"
VOUCHER = "Giảm 20.000đ"
WHEEL = "Vòng quay may mắn"
PROMOTION = "Cuối tuần nhân 1,5 điểm"
MISSION_VISITS = "Ghé quán 5 lần"
MISSION_WEEK = "3 ly mỗi tuần"
MISSION_MONTH = "Chi 500.000đ trong tháng"
CHECKIN_BOARD = Board("checkins", "Chăm ghé quán nhất", Metric.ACTION_COUNT, CHECKIN)
PAST_CAMPAIGNS = [
    (300, "Khai trương chi nhánh Thảo Điền", "Ghé Thảo Điền tuần này: tặng bánh croissant."),
    (200, "Trung thu: bánh nướng trà sen", "Combo bánh trung thu và trà sen chỉ 99.000đ."),
    (12, "Cold brew mới: cam sả", "Thử cold brew cam sả, nhân đôi điểm check-in cuối tuần."),
]
# The demo's last step: when it exists, the demo is complete.
LAST_CAMPAIGN = "Thứ Hai: bạc xỉu đồng giá 29.000đ"


@dataclass(frozen=True)
class Kind:
    """A kind of customer: when they joined, how often and how much they buy."""

    name: str
    count: int
    joined: tuple[int, int]  # days before the end
    visits_per_week: float
    items: tuple[int, int]
    weekdays_only: bool = False
    stops_after_days: tuple[int, int] | None = None  # lapsed: stop coming after this long
    spins: bool = False


KINDS = [
    Kind("office regular", 3, (330, 365), 4.0, (1, 2), weekdays_only=True, spins=True),
    Kind("team orderer", 2, (250, 330), 1.5, (3, 5), weekdays_only=True, spins=True),
    Kind("frequent", 5, (200, 365), 2.0, (1, 3), spins=True),
    Kind("weekly", 10, (120, 330), 1.0, (1, 3)),
    Kind("occasional", 15, (60, 300), 0.3, (1, 3)),
    Kind("lapsed", 10, (250, 365), 0.8, (1, 2), stops_after_days=(30, 120)),
    Kind("new", 5, (3, 40), 1.0, (1, 2)),
]


@dataclass
class Person:
    enrolment: members.Enrolment
    kind: Kind
    joined: datetime
    app_user: bool
    member_id: int = 0


@dataclass(order=True)
class Event:
    at: datetime
    seq: int
    kind: str = field(compare=False)
    person: Person = field(compare=False)
    key: str = field(compare=False)
    amount: Decimal = field(compare=False, default=Decimal(0))
    channel: str = field(compare=False, default="")
    number: int = field(compare=False, default=0)


@dataclass
class Tally:
    enrolled: int = 0
    orders: int = 0
    revenue: Decimal = Decimal(0)
    actions: int = 0
    spins: int = 0
    vouchers: int = 0
    answers: int = 0
    refused: Counter[str] = field(default_factory=Counter)


def _local(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), ZONE).astimezone(UTC)


def _cast(rng: random.Random, end: datetime) -> list[Person]:
    people: list[Person] = []
    n = 0
    for kind in KINDS:
        for _ in range(kind.count):
            n += 1
            gender = "FEMALE" if rng.random() < 0.55 else "MALE"
            surname, middle = rng.choice(SURNAMES), rng.choice(MIDDLE[gender])
            given = rng.choice(GIVEN[gender])
            handle = f"{given}.{surname}{n}".lower().translate(ASCII)
            age_days = rng.randint(18 * 365, 55 * 365)
            joined_day = (end - timedelta(days=rng.randint(*kind.joined))).astimezone(ZONE)
            enrolment = members.Enrolment(
                external_id=f"demo-{n:03d}",
                display_name=f"{surname} {middle} {given}",
                phone=rng.choice(CARRIERS) + f"{rng.randint(0, 9_999_999):07d}",
                email=f"{handle}@example.vn" if rng.random() < 0.7 else None,
                birthday=end.date() - timedelta(days=age_days),
                gender=gender,
                tags=sorted(rng.sample(["office", "student", "takeaway", "wfh", "weekend"], k=2)),
            )
            joined = _local(joined_day.date(), rng.randint(7, 19), rng.randint(0, 59))
            people.append(Person(enrolment, kind, joined, app_user=rng.random() < 0.7))
    return people


def _amount(rng: random.Random, kind: Kind) -> Decimal:
    items = rng.randint(*kind.items)
    thousands = sum(rng.choice(MENU) for _ in range(items))
    return Decimal(min(HIGH, max(LOW, thousands)) * 1000)


def _visit_time(rng: random.Random, day: date) -> datetime:
    # Mornings before work and the afternoon break are the busy hours.
    hour = rng.choice([7, 7, 8, 8, 9, 10, 12, 14, 14, 15, 15, 16, 18, 19, 20])
    return _local(day, hour, rng.randint(0, 59))


def _plan(rng: random.Random, people: list[Person], end: datetime) -> list[Event]:
    """Every event of the year, in time order (seq breaks ties in a fixed way)."""
    events: list[Event] = []

    def add(
        at: datetime,
        kind: str,
        person: Person,
        key: str,
        amount: Decimal = Decimal(0),
        channel: str = "",
        number: int = 0,
    ) -> None:
        if at <= end:  # the story ends now
            events.append(Event(at, len(events), kind, person, key, amount, channel, number))

    for person in people:
        kind, ext = person.kind, person.enrolment.external_id
        add(person.joined, "enrol", person, ext)
        first = person.joined.astimezone(ZONE).date()
        last = end.astimezone(ZONE).date()
        if kind.stops_after_days:
            last = min(last, first + timedelta(days=rng.randint(*kind.stops_after_days)))
        visits = 0
        day = first
        while day <= last:
            weekend = day.weekday() >= 5
            rate = kind.visits_per_week / (5 if kind.weekdays_only else 7)
            if (not (kind.weekdays_only and weekend)) and (day == first or rng.random() < rate):
                at = max(_visit_time(rng, day), person.joined + timedelta(minutes=1))
                store = rng.choice(STORES)
                channel = "app" if person.app_user and rng.random() < 0.15 else store
                order_id = f"DEMO-{ext[5:]}-{visits:03d}"
                add(at, "order", person, order_id, _amount(rng, kind), channel)
                if person.app_user and channel != "app" and rng.random() < 0.6:
                    add(at + timedelta(minutes=2), "checkin", person, f"{ext}-checkin-{visits}")
                visits += 1
            day += timedelta(days=1)
        if rng.random() < 0.25 and visits:
            when = person.joined + timedelta(days=rng.randint(1, 30), hours=3)
            add(when, "review", person, f"{ext}-review")
        if kind.spins and person.app_user:
            for k in range(rng.randint(3, 8)):
                when = end - timedelta(days=rng.randint(1, 60), hours=rng.randint(1, 8))
                add(when, "spin", person, f"{ext}-spin-{k}", number=k)
        if visits >= 20 and person.app_user:
            for k in range(min(3, visits // 60 + 1)):
                when = end - timedelta(days=rng.randint(5, 150), hours=rng.randint(1, 8))
                if when > person.joined + timedelta(days=30):
                    add(when, "voucher", person, f"{ext}-voucher-{k}", number=k)
        if visits and rng.random() < 0.45:
            when = end - timedelta(days=rng.randint(1, 80), hours=rng.randint(1, 8))
            add(max(when, person.joined + timedelta(hours=1)), "nps", person, f"{ext}-nps")
    return sorted(events)


async def _definitions(end: datetime) -> dict[str, int]:
    await update_program(
        ProgramChanges(name=SHOP, welcome_points=50, birthday_points=100, points_pending_days=0)
    )
    for tier in TIERS:
        await tiers.upsert_tier(tier)
    for action in ACTIONS:
        await action_types.upsert(action)
    await badges.upsert(
        badges.BadgeData(code=BADGE, name="Khách quen", description="Ghé quán 5 lần")
    )
    offer = await VoucherOffer.filter(name=VOUCHER).first()
    if offer is None:
        offer = await vouchers.create_offer(
            vouchers.OfferData(
                name=VOUCHER,
                description="Đổi 200 điểm lấy phiếu giảm 20.000đ cho đơn từ 100.000đ",
                points_cost=200,
                discount_type=vouchers.DiscountType.AMOUNT,
                discount_value=Decimal(20_000),
                min_order_amount=Decimal(100_000),
                stock=500,
                per_member_limit=3,
            )
        )
    wheel = await SpinWheel.filter(name=WHEEL).first()
    if wheel is None:
        wheel = await spin_wheel.create_wheel(
            spin_wheel.WheelData(
                name=WHEEL,
                cost_points=20,
                daily_limit=3,
                segments=[
                    spin_wheel.SegmentData("10 điểm", 40, spin_wheel.PrizeData(points=10)),
                    spin_wheel.SegmentData("50 điểm", 10, spin_wheel.PrizeData(points=50)),
                    spin_wheel.SegmentData(
                        "Phiếu 20.000đ", 5, spin_wheel.PrizeData(voucher_offer_id=offer.id), 100
                    ),
                    spin_wheel.SegmentData("Chúc bạn may mắn lần sau", 45),
                ],
            )
        )
    plans = [
        missions.MissionData(
            title=MISSION_VISITS,
            description="Check-in 5 lần để nhận 100 điểm và huy hiệu Khách quen",
            action_type=CHECKIN,
            target=5,
            reward=Reward(points=100, badge_code=BADGE),
        ),
        missions.MissionData(
            title=MISSION_WEEK,
            description="3 đơn trong một tuần: thêm 10 điểm",
            action_type=action_types.ORDER,
            target=3,
            window=Window.WEEKLY,
            max_completions=None,
            reward=Reward(points=10),
        ),
        missions.MissionData(
            title=MISSION_MONTH,
            description="Chi 500.000đ trong một tháng: thêm 30 điểm và một lượt quay",
            action_type=action_types.ORDER,
            measure=missions.Measure.SUM,
            target=500_000,
            window=Window.MONTHLY,
            max_completions=None,
            reward=Reward(points=30, spin_wheel_id=wheel.id, spins=1),
        ),
    ]
    for plan in plans:
        if not await Mission.filter(title=plan.title).exists():
            await missions.create(plan)
    if not await Promotion.filter(name=PROMOTION).exists():
        local_end = end.astimezone(ZONE).date()
        await promotions.create_promotion(
            promotions.PromotionData(
                name=PROMOTION,
                multiplier=Decimal("1.5"),
                starts_at=_local(local_end - timedelta(days=20), 0, 0),
                ends_at=_local(local_end + timedelta(days=10), 0, 0),
                days_of_week=[6, 7],
            )
        )
    await rebuild.upsert_and_build(CHECKIN_BOARD)
    return {"offer": offer.id, "wheel": wheel.id}


async def _daily_jobs() -> None:
    """What a live server's jobs did that morning."""
    await birthdays.safe_credit_birthdays()
    await ledger_jobs.mature_pending()
    await ledger_jobs.expire_points()
    await tiers.review_tiers()
    await campaigns.deliver_due()


async def _campaigns_to_send(end: datetime) -> list[campaigns.CampaignData]:
    made = {c.title for c in await NotificationCampaign.all().only("title")}
    due = []
    for days_ago, title, body in PAST_CAMPAIGNS:
        if title not in made:
            day = (end - timedelta(days=days_ago)).astimezone(ZONE).date()
            due.append(campaigns.CampaignData(title, body, send_at=_local(day, 9, 30)))
    return due


async def _replay(events: list[Event], ids: dict[str, int], end: datetime, tally: Tally) -> None:
    seen = _Seen(
        orders=set(await _column(Order.filter(order_id__startswith="DEMO-"), "order_id")),
        actions=set(
            await _column(Action.filter(idempotency_key__startswith="demo-"), "idempotency_key")
        ),
        members=dict(
            await Member.filter(external_id__startswith="demo-").values_list("external_id", "id")
        ),
        spins=Counter(await _column(SpinResult.filter(wheel_id=ids["wheel"]), "member_id")),
        vouchers=Counter(
            await _column(Voucher.filter(offer_id=ids["offer"], source="claim"), "member_id")
        ),
    )
    to_send = await _campaigns_to_send(end)
    # The jobs run every morning at 10:00, as a live server's would have, in time order
    # with the events; a campaign is scheduled the morning before it goes out.
    mornings = _local(events[0].at.astimezone(ZONE).date(), 10, 0)
    for event in events:
        while mornings <= event.at:
            clock.freeze(mornings)
            for data in [c for c in to_send if c.send_at and c.send_at <= mornings + ONE_DAY]:
                to_send.remove(data)
                if data.send_at and data.send_at > mornings:
                    await campaigns.create_campaign(data)
            await _daily_jobs()
            mornings += ONE_DAY
        clock.freeze(event.at)
        try:
            await _apply(event, ids, tally, seen)
        except DomainError as refused:
            # What the API would have answered the member (no points left, a daily limit).
            tally.refused[refused.code.value] += 1


async def _column(query: Any, name: str) -> list[Any]:
    return list(await query.values_list(name, flat=True))


@dataclass
class _Seen:
    """What an earlier, interrupted run already wrote (a finished demo is not replayed)."""

    orders: set[str]
    actions: set[str]
    members: dict[str, int]
    spins: Counter[int]
    vouchers: Counter[int]


async def _apply(event: Event, ids: dict[str, int], tally: Tally, seen: _Seen) -> None:
    person = event.person
    if event.kind == "enrol":
        if event.key in seen.members:
            person.member_id = seen.members[event.key]
            return
        member = await enrolment.enroll(person.enrolment)
        person.member_id = seen.members[event.key] = member.id
        tally.enrolled += 1
        return
    member_id = person.member_id
    if event.kind == "order":
        if event.key in seen.orders:
            return
        await orders.record_order(
            event.key,
            person.enrolment.external_id,
            event.amount,
            occurred_at=event.at,
            channel=event.channel,
        )
        tally.orders += 1
        tally.revenue += event.amount
    elif event.kind in ("checkin", "review"):
        if event.key in seen.actions:
            return
        kind = CHECKIN if event.kind == "checkin" else REVIEW
        await game_actions.track(member_id, kind, idempotency_key=event.key, occurred_at=event.at)
        tally.actions += 1
    elif event.kind == "spin":
        if seen.spins[member_id] > event.number:
            return
        await spin_wheel.spin(member_id, ids["wheel"], event.key)
        seen.spins[member_id] += 1
        tally.spins += 1
    elif event.kind == "voucher":
        if seen.vouchers[member_id] > event.number:
            return
        await vouchers.claim(member_id, ids["offer"])
        seen.vouchers[member_id] += 1
        tally.vouchers += 1
    elif event.kind == "nps":
        await nps.submit(member_id, _nps_score(event.key), None)
        tally.answers += 1


def _nps_score(key: str) -> int:
    # Mostly happy regulars, some lukewarm, a few let down.
    roll = random.Random(key).random()
    for below, score in ((0.35, 10), (0.6, 9), (0.75, 8), (0.9, 6)):
        if roll < below:
            return score
    return 3


async def seed() -> str:
    """Tell the demo's year, ending now; returns what was added, in words."""
    if await NotificationCampaign.filter(title=LAST_CAMPAIGN).exists():
        count = await Member.filter(external_id__startswith="demo-").count()
        return f"{SHOP}: the demo is already there ({count} members); nothing added"
    end = clock.now()
    rng = random.Random(SEED)
    people = _cast(rng, end)
    events = _plan(rng, people, end)
    tally = Tally()
    try:
        clock.freeze(end - timedelta(days=DAYS + 1))
        ids = await _definitions(end)
        await _replay(events, ids, end, tally)
    finally:
        clock.unfreeze()
    # The morning after the last event: what the jobs and an admin do now.
    await _daily_jobs()
    scored = await rfm.recompute()
    await rebuild.rebuild()
    local_end = end.astimezone(ZONE).date()
    await campaigns.create_campaign(
        campaigns.CampaignData(
            LAST_CAMPAIGN,
            "Sáng thứ Hai, bạc xỉu mọi size đồng giá 29.000đ tại cả ba quán.",
            send_at=_local(local_end + timedelta(days=1), 9, 0),
        )
    )
    first = min(e.at for e in events).astimezone(ZONE).date()
    refused = ", ".join(f"{n} {code}" for code, n in sorted(tally.refused.items()))
    return (
        f"{SHOP}, {first:%d/%m/%Y} to {local_end:%d/%m/%Y}: {tally.enrolled} members enrolled, "
        f"{tally.orders} orders ({tally.revenue:,.0f} VND), {tally.actions} check-ins and "
        f"reviews, {tally.spins} spins, {tally.vouchers} vouchers claimed, {tally.answers} NPS "
        f"answers; RFM scored for {scored} members"
        + (f"; refused as the API would: {refused}" if refused else "")
    )
