"""The program's language for people: Vietnamese words, amounts, points and dates.

Amounts are written the Vietnamese way (345.000 ₫: dots between thousands, a decimal comma,
the đồng sign after), points likewise (1.250 điểm), dates day first (29/11/2026) in the
program's zone. Care history summaries and member notices use these.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from core import clock


def _grouped(whole: int) -> str:
    return f"{whole:,}".replace(",", ".")


def money(amount: Decimal | int | str) -> str:
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    sign = "-" if value < 0 else ""
    value = abs(value)
    whole = int(value)
    cents = int((value - whole) * 100)
    text = _grouped(whole) + (f",{cents:02d}".rstrip("0") if cents else "")
    return f"{sign}{text} ₫"


def points(n: int, *, signed: bool = False) -> str:
    sign = ("+" if n > 0 else "-" if n < 0 else "") if signed else ("-" if n < 0 else "")
    return f"{sign}{_grouped(abs(n))} điểm"


def day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def local_day(at: datetime, zone: str) -> str:
    return day(clock.local(at, zone).date())


CHANNELS = {"PUSH": "thông báo đẩy", "SMS": "SMS", "EMAIL": "email", "ZALO": "Zalo"}

ACTORS = {"MEMBER": "thành viên", "ADMIN": "quản trị viên", "INTEGRATION": "nhân viên cửa hàng"}

PROFILE_FIELDS = {
    "display_name": "họ tên",
    "email": "email",
    "phone": "số điện thoại",
    "birthday": "ngày sinh",
    "gender": "giới tính",
    "city": "thành phố",
}

GENDERS = {"FEMALE": "nữ", "MALE": "nam", "OTHER": "khác", "UNDISCLOSED": "không tiết lộ"}

REASONS = {
    "WELCOME": "điểm chào mừng",
    "ORDER": "tích điểm đơn hàng",
    "REFERRAL": "giới thiệu bạn bè",
    "ACTION": "hoạt động",
    "MISSION": "thưởng nhiệm vụ",
    "SPIN": "vòng quay may mắn",
    "PROMOTION": "khuyến mãi",
    "BIRTHDAY": "quà sinh nhật",
    "REDEMPTION": "đổi điểm",
    "VOUCHER": "đổi voucher",
    "REFUND": "trừ điểm do hoàn tiền",
    "EXPIRY": "điểm hết hạn",
    "ADJUSTMENT": "điều chỉnh",
}


def actor(role: str) -> str:
    return ACTORS.get(role, role.lower())
