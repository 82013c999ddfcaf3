"""Small input checks that raise InvalidInput naming the offending field.

A field is named the domain's way (`points_cost`, `segments.2.weight`); gql/errors.py
turns that into the API's path. Messages name it the way clients spell it (`spoken`), as
every message does ("occurredAt cannot be in the future").
"""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import InvalidInput

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_PHONE = re.compile(r"^\+?[0-9]{8,15}$")
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")

MAX_LIST = 100


def spoken(field: str) -> str:
    """How a message names a field: its last part, spelled as clients spell it
    (`rules.tier_codes` -> `tierCodes`)."""
    head, *rest = field.split(".")[-1].split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def text(value: str, field: str, *, min_len: int = 1, max_len: int = 200) -> str:
    value = value.strip()
    if not min_len <= len(value) <= max_len:
        raise InvalidInput(f"{spoken(field)} must be {min_len}..{max_len} characters", field)
    return value


def email(value: str, field: str) -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise InvalidInput("email is not a valid address", field)
    return value.lower()


def phone(value: str, field: str) -> str:
    normalized = re.sub(r"[\s().-]", "", value)
    if not _PHONE.match(normalized):
        raise InvalidInput("phone must be 8..15 digits, optionally starting with +", field)
    # One member, one number: +84 901... and 0901... are the same Vietnamese phone.
    if normalized.startswith("+84"):
        normalized = "0" + normalized[3:]
    return normalized


def hhmm(value: str, field: str) -> time:
    if not _HHMM.match(value):
        raise InvalidInput("time must be 'HH:MM' (00:00..23:59)", field)
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def zone(value: str, field: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput("timezone must be an IANA zone such as Asia/Ho_Chi_Minh", field) from exc
    return value


def percent(value: Decimal, field: str) -> Decimal:
    if not Decimal(0) <= value <= Decimal(100):
        raise InvalidInput("percentage must be between 0 and 100", field)
    return value


def non_negative(value: int, field: str) -> int:
    if value < 0:
        raise InvalidInput(f"{spoken(field)} must not be negative", field)
    return value


def positive(value: int | Decimal | float, field: str) -> None:
    if value <= 0:
        raise InvalidInput(f"{spoken(field)} must be greater than 0", field)


def capped_list(values: list, field: str, cap: int = MAX_LIST) -> list:
    if len(values) > cap:
        raise InvalidInput(f"at most {cap} items", field)
    return values
