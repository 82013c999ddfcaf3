"""A member's points history: their postings, newest first, keyset-paginated."""

from __future__ import annotations

from dataclasses import dataclass

from core import ids, validation
from core.errors import InvalidInput
from rewards.ledger.models import Posting


@dataclass
class HistoryPage:
    entries: list[Posting]
    has_next: bool


async def history(member_id: int, first: int, after: str | None) -> HistoryPage:
    if not 0 <= first <= validation.MAX_LIST:
        raise InvalidInput(f"first must be 0..{validation.MAX_LIST}", "first")
    query = Posting.filter(member_id=member_id, internal=False)
    if after:
        try:
            (after_id,) = ids.decode_cursor(after)
            query = query.filter(id__lt=int(after_id))
        except ValueError as exc:
            raise InvalidInput("after is not a cursor from this list", "after") from exc
    rows = await query.order_by("-id").limit(first + 1)
    return HistoryPage(entries=rows[:first], has_next=len(rows) > first)


def cursor(posting: Posting) -> str:
    return ids.encode_cursor(posting.id)
