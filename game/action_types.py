"""Action types: what each kind of member action is worth and who may report it.

`order` is built in: every recorded order is also an `order` action (value = amount,
attributes {"channel": ...}) that missions and stamp cards can count. It earns no action
points (the order earns its own) and is not reported through trackAction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core import clock, definitions, validation
from core.errors import InvalidInput, NotFound
from core.events import unit_of_work
from game.models import ActionType

ORDER = "order"
_KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
MAX_POINTS = 1_000_000


@dataclass
class ActionTypeData:
    key: str
    name: str
    points: int = 0
    daily_cap: int | None = None
    client_reportable: bool = False


def builtin_order() -> ActionType:
    """The unsaved row standing for the built-in `order` action."""
    now = clock.now()
    return ActionType(
        key=ORDER,
        name="Order",
        points=0,
        daily_cap=None,
        client_reportable=False,
        created_at=now,
        updated_at=now,
    )


def validate(data: ActionTypeData) -> ActionTypeData:
    key = data.key.strip()
    if len(key) > 64 or not _KEY.match(key):
        raise InvalidInput(
            "key must be lowercase words joined by dots, e.g. 'review.posted'", "key"
        )
    if key == ORDER:
        raise InvalidInput("'order' is built in: orders are recorded with recordOrder", "key")
    name = validation.text(data.name, "name", max_len=100)
    if not 0 <= data.points <= MAX_POINTS:
        raise InvalidInput(f"points must be 0..{MAX_POINTS}", "points")
    if data.daily_cap is not None and data.daily_cap < 0:
        raise InvalidInput("dailyCap must not be negative", "daily_cap")
    return ActionTypeData(key, name, data.points, data.daily_cap, data.client_reportable)


async def upsert(data: ActionTypeData) -> ActionType:
    data = validate(data)
    now = clock.now()
    values: dict[str, Any] = {
        "name": data.name,
        "points": data.points,
        "daily_cap": data.daily_cap,
        "client_reportable": data.client_reportable,
        "updated_at": now,
    }
    async with unit_of_work():
        row = await ActionType.select_for_update().get_or_none(key=data.key)
        if row is None:
            try:
                async with in_transaction():
                    created = await ActionType.create(key=data.key, created_at=now, **values)
                await definitions.changed()
                return created
            except IntegrityError:  # a concurrent upsert created it first
                row = await ActionType.get(key=data.key)
        await ActionType.filter(id=row.id).update(**values)
        await row.refresh_from_db()
        await definitions.changed()
        return row


async def load_definitions() -> dict[str, ActionType]:
    """The snapshot's part: the program's action types by key."""
    return {row.key: row for row in await ActionType.all().order_by("key")}


async def by_key() -> dict[str, ActionType]:
    return (await definitions.get())["action_types"]  # type: ignore[no-any-return]


async def all_types() -> list[ActionType]:
    """The built-in `order` first, then the program's types by key."""
    return [builtin_order(), *(await by_key()).values()]


async def get(key: str, field: str = "action_type") -> ActionType:
    if key == ORDER:
        return builtin_order()
    row = (await by_key()).get(key)
    if row is None:
        raise NotFound(f"no action type {key!r}", field)
    return row


async def known(key: str) -> bool:
    return key == ORDER or key in await by_key()
