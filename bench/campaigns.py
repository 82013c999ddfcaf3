"""Benchmark: one notification campaign delivered to 10,000 members.

In-process, with the real delivery path: the campaign is created (due now, outside quiet
hours), the kicked background delivery runs in batches (one transaction each: cap check,
bulk insert into the inbox, cursor, one Redis pipeline publishing NotificationReceived to
every member's channel), then the push outbox is flushed to the log sender. Prints the
time to SENT, members per second and the push flush time.

    python -m bench.campaigns                    # SQLite + embedded Redis
    LOYALTY_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    LOYALTY_BENCH_REDIS_URL=redis://127.0.0.1:6379/0 python -m bench.campaigns
Options: --members N (default 10000).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time

from bench import common


async def main(args: argparse.Namespace) -> None:
    from core import clock
    from engage import background, campaigns, deliveries
    from engage.models import MessageDelivery, NotificationCampaign
    from members.models import Member
    from members.program import ProgramChanges, update_program

    logging.getLogger("loyalty.messages").setLevel(logging.WARNING)
    common.print_machine()
    async with common.services("campaigns") as settings:
        now = clock.now()
        await Member.bulk_create(
            [
                Member(
                    external_id=f"bench-{n}",
                    display_name=f"Member {n}",
                    tags=[],
                    enrolled_at=now,
                    referral_code=f"B{n:07d}",
                )
                for n in range(args.members)
            ],
            batch_size=2000,
        )
        unlimited = ("quiet_hours_start", "quiet_hours_end", "max_notifications_per_week")
        await update_program(ProgramChanges(clear=unlimited))
        db = common.backend(settings.effective_database_url)
        print(f"{args.members} members on {db}", flush=True)
        started = time.perf_counter()
        campaign = await campaigns.create_campaign(campaigns.CampaignData("Sale", "Double points"))
        await background.drain()
        elapsed = time.perf_counter() - started
        row = await NotificationCampaign.get(id=campaign.id)
        print(
            f"campaign {row.status}: {row.delivered} delivered in {elapsed:.2f} s "
            f"({row.delivered / elapsed:,.0f} members/s, batches of {campaigns.BATCH}, "
            "inbox + live events)"
        )
        # The delivery kicks the push outbox after each batch; finish what is left.
        started = time.perf_counter()
        await deliveries.flush(limit=10 * args.members)
        pushed = await MessageDelivery.filter(channel="PUSH", status="SENT").count()
        print(
            f"push: {pushed} handed to the log sender (during delivery, plus a final flush "
            f"of {time.perf_counter() - started:.2f} s)"
        )
    common.print_load_after()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    asyncio.run(main(parser.parse_args()))
