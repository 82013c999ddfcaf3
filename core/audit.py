"""The audit trail of admin mutations: who, when, what, and how it ended.

`begin()` writes the entry ("pending") before the mutation runs and `finish()` completes it
right after, so a change whose process died in between still left its trace. Domain writes
commit in their own unit of work (which catches IntegrityError to replay, so it cannot sit
inside another transaction); the entry is therefore two small writes around it.

Arguments are stored as given, except that values of secret-looking names (token, secret,
password, seed, ...) are redacted and long strings are cut, so the trail stays small and
never holds a credential.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from core import clock
from core.models import AuditEntry

REDACTED = "[redacted]"
MAX_STRING = 200
MAX_ITEMS = 100
_SECRET = re.compile(r"secret|password|passphrase|token|seed|credential|apikey", re.IGNORECASE)
_UNSTORABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")

PENDING = "pending"
OK = "ok"
ERROR = "error"


def _plain(value: Any, depth: int = 0) -> Any:
    """A JSON-storable copy: strings cut and cleaned, Decimals and times as text."""
    if depth > 8:
        return "…"
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        cut = (
            value
            if len(value) <= MAX_STRING
            else value[:MAX_STRING] + f"…(+{len(value) - MAX_STRING})"
        )
        return _UNSTORABLE.sub("\ufffd", cut)
    if isinstance(value, Decimal | datetime | date):
        return str(value) if not isinstance(value, datetime | date) else value.isoformat()
    if isinstance(value, Enum):
        return _plain(value.value, depth)
    if isinstance(value, dict):
        return {
            _plain(str(k)): REDACTED if _SECRET.search(str(k)) else _plain(v, depth + 1)
            for k, v in list(value.items())[:MAX_ITEMS]
        }
    if isinstance(value, list | tuple):
        return [_plain(v, depth + 1) for v in list(value)[:MAX_ITEMS]]
    return _plain(str(value), depth)


def redact(arguments: dict[str, Any]) -> dict[str, Any]:
    plain = _plain(arguments)
    assert isinstance(plain, dict)
    return plain


async def begin(actor: str, key_id: int | None, operation: str, arguments: dict[str, Any]) -> int:
    entry = await AuditEntry.create(
        at=clock.now(),
        actor=actor[:64],
        key_id=key_id,
        operation=operation[:64],
        arguments=redact(arguments),
        outcome=PENDING,
    )
    return int(entry.id)


async def finish(entry_id: int, error_codes: Sequence[str]) -> None:
    codes = sorted(set(error_codes))
    await AuditEntry.filter(id=entry_id).update(
        outcome=ERROR if codes else OK, error_codes=codes or None
    )


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    has_next: bool


async def page(first: int, before_id: int | None = None) -> AuditPage:
    """Newest first; `before_id` continues after the last entry of the previous page."""
    query = AuditEntry.all()
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    rows = await query.order_by("-id").limit(first + 1)
    return AuditPage(entries=rows[:first], has_next=len(rows) > first)
