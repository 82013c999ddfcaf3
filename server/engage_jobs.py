"""The engage area in the composition root: its channels' configuration, the jobs that keep
a schedule of their own (expiry reminders, birthday greetings) and `loyalty rfm`.

Campaigns, the message outbox of every channel, webhooks and RFM run as jobs straight from
their domain functions (server/jobs.py lists every job, server/cli.py every command)."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta

from core import clock
from core.settings import Settings
from engage import background, channel_settings, rfm, transactional
from server.progress import Progress

REMIND_EVERY = timedelta(minutes=10)


def configure(settings: Settings) -> None:
    """Pick every channel's sender from configuration (engage/channel_settings.py): the
    push webhook, the SMS and Zalo providers, SMTP; a channel without one logs."""
    channel_settings.configure(settings)


async def shutdown() -> None:
    # Delivery is idempotent: a batch cut short rolls back and the job redoes it.
    await background.cancel_all()


_last_reminders: datetime | None = None


def reminders(sent: dict[str, int] | None) -> str:
    if sent is None:
        return f"not due (every {int(REMIND_EVERY.total_seconds() // 60)} min)"
    if not any(sent.values()):
        return "nothing expires soon"
    return f"{sent['vouchers']} voucher and {sent['points']} points expiry reminder(s) sent"


async def expiry_reminders() -> dict[str, int] | None:
    # Reminders are keyed per cause, so running more often adds nothing but queries.
    global _last_reminders
    now = clock.now()
    if _last_reminders is not None and now - _last_reminders < REMIND_EVERY:
        return None
    _last_reminders = now
    return await transactional.remind_expiring()


_last_birthdays: datetime | None = None


async def birthday_greetings() -> int | None:
    # Keyed per member and year: more runs add nothing but queries.
    global _last_birthdays
    now = clock.now()
    if _last_birthdays is not None and timedelta(0) <= now - _last_birthdays < REMIND_EVERY:
        return None
    _last_birthdays = now
    return await transactional.greet_birthdays()


async def score_rfm(args: argparse.Namespace, settings: Settings) -> int:
    async with Progress("scoring RFM").ticking():
        scored = await rfm.recompute()
    print(f"scored {scored} member(s) with orders on recency, frequency and monetary value")
    return 0
