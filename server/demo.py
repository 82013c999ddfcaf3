"""`loyalty seed-demo`: a believable demo shop, a Saigon coffee chain, built through the
domain functions (so every point, tier and mission progress is real).

Idempotent: members, orders and actions have fixed ids and keys, definitions are
upserted or looked up by name, so a second run adds nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from core import clock
from game import action_types
from game import actions as game_actions
from game.missions import definitions as missions
from game.models import Action, Mission
from game.rewards import Reward
from members import service as members
from members.models import Member
from members.program import ProgramChanges, update_program
from rewards import badges, enrolment, orders, tiers
from rewards.spin_wheel import service as spin_wheel
from rewards.spin_wheel.models import SpinWheel
from rewards.vouchers import service as vouchers
from rewards.vouchers.models import VoucherOffer

SHOP = "Cà Phê Sài Gòn Rewards"
MEMBERS = 50
SEED = 2026

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
CHANNELS = ["store:quan1", "store:quan3", "store:thaodien", "app", "grabfood"]

TIERS = [
    tiers.TierData(code="MEMBER", name="Thành viên", threshold=0, perks=["Tích 5% mỗi đơn"]),
    tiers.TierData(
        code="SILVER",
        name="Bạc",
        threshold=250,
        earn_multiplier=Decimal("1.1"),
        voucher_discount_percent=Decimal(5),
        perks=["Nhân 1,1 điểm", "Giảm 5% voucher"],
    ),
    tiers.TierData(
        code="GOLD",
        name="Vàng",
        threshold=750,
        earn_multiplier=Decimal("1.25"),
        voucher_discount_percent=Decimal(10),
        perks=["Nhân 1,25 điểm", "Giảm 10% voucher", "Ly size L miễn phí ngày sinh nhật"],
    ),
    tiers.TierData(
        code="DIAMOND",
        name="Kim Cương",
        threshold=2000,
        earn_multiplier=Decimal("1.5"),
        voucher_discount_percent=Decimal(15),
        perks=["Nhân 1,5 điểm", "Giảm 15% voucher", "Hàng ưu tiên"],
    ),
]

ACTIONS = [
    action_types.ActionTypeData(
        key="checkin.store", name="Check-in tại quán", points=5, daily_cap=1
    ),
    action_types.ActionTypeData(key="review.written", name="Viết đánh giá", points=20, daily_cap=1),
    action_types.ActionTypeData(
        key="app.daily_open", name="Mở app mỗi ngày", points=1, daily_cap=1, client_reportable=True
    ),
]
MISSION = "Ghé quán 5 lần"
BADGE = "khach-quen"
VOUCHER = "Giảm 20.000đ"
WHEEL = "Vòng quay may mắn"


@dataclass
class Shopper:
    external_id: str
    orders: int
    low: int  # order amounts in thousands of VND
    high: int


def _people(rng: random.Random) -> list[tuple[members.Enrolment, Shopper]]:
    today = clock.local_today("Asia/Ho_Chi_Minh")
    people = []
    for n in range(1, MEMBERS + 1):
        gender = "FEMALE" if rng.random() < 0.55 else "MALE"
        surname, middle = rng.choice(SURNAMES), rng.choice(MIDDLE[gender])
        given = rng.choice(GIVEN[gender])
        handle = f"{given}.{surname}{n}".lower().translate(ASCII)
        external_id = f"demo-{n:03d}"
        age_days = rng.randint(18 * 365, 60 * 365)
        enrolment = members.Enrolment(
            external_id=external_id,
            display_name=f"{surname} {middle} {given}",
            phone=rng.choice(CARRIERS) + f"{rng.randint(0, 9_999_999):07d}",
            email=f"{handle}@example.vn" if rng.random() < 0.7 else None,
            birthday=date.fromordinal(today.toordinal() - age_days),
            gender=gender,
            tags=rng.sample(["office", "student", "takeaway", "wfh", "weekend"], k=2),
        )
        # A few regulars spend a lot; most come now and then (amounts in thousand VND).
        if n <= 3:
            shopper = Shopper(external_id, rng.randint(18, 22), 1_800, 3_000)
        elif n <= 8:
            shopper = Shopper(external_id, rng.randint(12, 16), 1_200, 2_500)
        elif n <= 16:
            shopper = Shopper(external_id, rng.randint(8, 12), 600, 1_200)
        else:
            shopper = Shopper(external_id, rng.randint(0, 5), 45, 350)
        people.append((enrolment, shopper))
    return people


async def _definitions() -> None:
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
    if not await Mission.filter(title=MISSION).exists():
        await missions.create(
            missions.MissionData(
                title=MISSION,
                description="Check-in 5 lần để nhận 100 điểm và huy hiệu Khách quen",
                action_type="checkin.store",
                target=5,
                reward=Reward(points=100, badge_code=BADGE),
            )
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
    if not await SpinWheel.filter(name=WHEEL).exists():
        await spin_wheel.create_wheel(
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


async def seed() -> str:
    rng = random.Random(SEED)
    await _definitions()
    now = clock.now()
    enrolled = recorded = tracked = 0
    for person, shopper in _people(rng):
        if not await Member.filter(external_id=person.external_id).exists():
            await enrolment_of(person)
            enrolled += 1
        member = await members.get_by_external_id(shopper.external_id)
        for k in range(shopper.orders):
            amount = Decimal(rng.randint(shopper.low, shopper.high) * 1000)
            at = now - timedelta(days=rng.randint(1, 180), minutes=rng.randint(0, 600))
            result = await orders.record_order(
                f"DEMO-{shopper.external_id[5:]}-{k:02d}",
                shopper.external_id,
                amount,
                occurred_at=at,
                channel=rng.choice(CHANNELS),
            )
            recorded += 0 if result.duplicate else 1
        for k in range(rng.randint(0, 6)):
            key = f"demo-checkin-{shopper.external_id}-{k}"
            # The time is part of an action's identity, and "k days ago" moves between runs.
            if await Action.filter(member_id=member.id, idempotency_key=key).exists():
                continue
            await game_actions.track(
                member.id, "checkin.store", idempotency_key=key, occurred_at=now - timedelta(days=k)
            )
            tracked += 1
    return (
        f"{SHOP}: {enrolled} members enrolled, {recorded} orders recorded, "
        f"{tracked} check-ins tracked ({MEMBERS} demo members in all)"
    )


async def enrolment_of(data: members.Enrolment) -> Member:
    """Enrol with the program's welcome points, like the back office does."""
    return await enrolment.enroll(data)
