"""Tortoise configuration: which modules hold models, and where migrations live.

All models form one Tortoise app, "loyalty", migrated by tortoise's built-in migration
system (migrations/, a top-level package). `loyalty migrate` applies them; tests build the
same schema.
"""

from __future__ import annotations

from typing import Any

APP = "loyalty"

MODEL_MODULES = [
    "core.models",
    "members.models",
    "rewards.ledger.models",
    "rewards.orders.models",
    "rewards.tiers.models",
    "rewards.promotions",
    "rewards.referrals",
    "rewards.birthdays",
    "rewards.vouchers.models",
    "rewards.spin_wheel.models",
    "rewards.member_state",
    "rewards.badges.models",
    "game.models",
    "game.leaderboards.models",
    "members.segment_models",
    "engage.models",
]


def tortoise_config(db_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": db_url},
        "apps": {
            APP: {
                "models": list(MODEL_MODULES),
                "default_connection": "default",
                "migrations": "migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def backend_of(db_url: str) -> str:
    """The backend a database URL names, read from its scheme before any connection exists
    (at run time, core.sql.dialect() asks the connection)."""
    return (
        "postgres"
        if db_url.startswith(("postgres://", "postgresql://", "asyncpg://"))
        else ("sqlite")
    )


# For the `tortoise` CLI (make migrations): autodetection needs no live database.
TORTOISE_ORM = tortoise_config("sqlite://:memory:")
