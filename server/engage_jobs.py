"""Jobs and commands of the engage area: campaigns, the message outbox of every channel,
webhooks, reminders, birthday greetings, RFM."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta

from core import clock
from core.settings import Settings
from engage import background, campaigns, channel_settings, deliveries, rfm, transactional, webhooks
from server.cli import command
from server.jobs import counted, job
from server.progress import Progress

REMIND_EVERY = timedelta(minutes=10)


def configure(settings: Settings) -> None:
    """Pick every channel's sender from configuration (engage/channel_settings.py): the
    push webhook, the SMS and Zalo providers, SMTP; a channel without one logs."""
    channel_settings.configure(settings)


async def shutdown() -> None:
    # Delivery is idempotent: a batch cut short rolls back and the job redoes it.
    await background.cancel_all()


@job(
    "engage.campaigns",
    counted("notification delivered", "notifications delivered", "no campaign due"),
)
async def deliver_campaigns() -> int:
    return await campaigns.deliver_due()


@job("engage.messages", counted("message sent", "messages sent", "no message due"))
async def flush_messages() -> int:
    return await deliveries.flush()


@job("engage.webhooks", counted("webhook delivered", "webhooks delivered", "no webhook due"))
async def flush_webhooks() -> int:
    return await webhooks.flush()


_last_reminders: datetime | None = None


def _reminders(sent: dict[str, int] | None) -> str:
    if sent is None:
        return f"not due (every {int(REMIND_EVERY.total_seconds() // 60)} min)"
    if not any(sent.values()):
        return "nothing expires soon"
    return f"{sent['vouchers']} voucher and {sent['points']} points expiry reminder(s) sent"


@job("engage.reminders", _reminders)
async def expiry_reminders() -> dict[str, int] | None:
    # Reminders are keyed per cause, so running more often adds nothing but queries.
    global _last_reminders
    now = clock.now()
    if _last_reminders is not None and now - _last_reminders < REMIND_EVERY:
        return None
    _last_reminders = now
    return await transactional.remind_expiring()


_last_birthdays: datetime | None = None


@job(
    "engage.birthdays", counted("birthday greeting sent", "birthday greetings sent", "no birthday")
)
async def birthday_greetings() -> int | None:
    # Keyed per member and year: more runs add nothing but queries.
    global _last_birthdays
    now = clock.now()
    if _last_birthdays is not None and timedelta(0) <= now - _last_birthdays < REMIND_EVERY:
        return None
    _last_birthdays = now
    return await transactional.greet_birthdays()


@job("engage.rfm", counted("member scored", "members scored", "no member with orders"))
async def score_rfm() -> int | None:
    return await rfm.recompute_if_due()


@command("rfm", "score every member's RFM now (the job also does it hourly)")
async def _rfm(args: argparse.Namespace, settings: Settings) -> int:
    async with Progress("scoring RFM").ticking():
        scored = await rfm.recompute()
    print(f"scored {scored} member(s) with orders on recency, frequency and monetary value")
    return 0
