"""Jobs and commands of the engage area: campaigns, the push outbox, reminders, RFM."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta

from core import clock
from core.settings import Settings
from engage import background, campaigns, push, rfm, transactional
from server.cli import command
from server.jobs import job

REMIND_EVERY = timedelta(minutes=10)


def configure(settings: Settings) -> None:
    """Pick the push sender: the webhook when LOYALTY_PUSH_WEBHOOK_URL is set, else the log."""
    push.configure(settings)


async def shutdown() -> None:
    # Delivery is idempotent: a batch cut short rolls back and the job redoes it.
    await background.cancel_all()


@job("engage.campaigns")
async def deliver_campaigns() -> int:
    return await campaigns.deliver_due()


@job("engage.push")
async def flush_push() -> int:
    return await push.flush()


_last_reminders: datetime | None = None


@job("engage.reminders")
async def expiry_reminders() -> dict[str, int] | None:
    # Reminders are keyed per cause, so running more often adds nothing but queries.
    global _last_reminders
    now = clock.now()
    if _last_reminders is not None and now - _last_reminders < REMIND_EVERY:
        return None
    _last_reminders = now
    return await transactional.remind_expiring()


@job("engage.rfm")
async def score_rfm() -> int | None:
    return await rfm.recompute_if_due()


@command("rfm", "score every member's RFM now (the job also does it hourly)")
async def _rfm(args: argparse.Namespace, settings: Settings) -> int:
    scored = await rfm.recompute()
    print(f"rfm: scored {scored} member(s) with orders")
    return 0
