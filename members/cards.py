"""Card codes: the number on the member's card (shown as a QR code in the app, scanned at the till).

A card code is 12 digits: 11 random ones (the first never 0, so spreadsheets and tills keep it
whole) and a Luhn check digit, so a mistyped digit or two swapped neighbours are caught before
any lookup. Codes come from `secrets`: nothing about the member id can be read from them or
guessed by counting. An erased member has no card code.
"""

from __future__ import annotations

import re
import secrets

from core.errors import InvalidInput
from members.models import Member

LENGTH = 12
_SEPARATORS = re.compile(r"[\s-]")


def luhn_digit(body: str) -> str:
    """The check digit that makes `body` + digit pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def is_valid(code: str) -> bool:
    return len(code) == LENGTH and code.isdigit() and luhn_digit(code[:-1]) == code[-1]


def new_code() -> str:
    body = str(secrets.randbelow(9) + 1) + "".join(
        str(secrets.randbelow(10)) for _ in range(LENGTH - 2)
    )
    return body + luhn_digit(body)


async def unused_code() -> str:
    """A fresh code no member holds (a collision in 9 x 10^10 codes is retried; the unique
    index still guards a concurrent enrolment drawing the same one)."""
    for _ in range(5):
        code = new_code()
        if not await Member.filter(card_code=code).exists():
            return code
    raise RuntimeError("could not draw an unused card code")


def normalize(code: str, field: str = "card_code") -> str:
    """The code as typed or scanned (spaces and dashes allowed); INVALID_INPUT if malformed."""
    digits = _SEPARATORS.sub("", code)
    if len(digits) != LENGTH or not digits.isdigit():
        raise InvalidInput(f"cardCode must be {LENGTH} digits", field)
    if not is_valid(digits):
        raise InvalidInput("cardCode has a wrong check digit: mistyped or misread", field)
    return digits


async def find_by_card(code: str) -> Member | None:
    """The (not erased) member holding this card; None for a valid code nobody holds."""
    return await Member.get_or_none(card_code=normalize(code), erased_at__isnull=True)
