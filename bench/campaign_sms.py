"""Benchmark: one campaign of 100,000 messages over SMS to a local provider.

In-process, with the real path: 100,000 members who consented to SMS, an admin's SMS
template with {displayName}, the campaign created on channel SMS (due now, no quiet window,
no weekly cap). The kicked delivery writes the inbox entries and SMS deliveries in batches;
the SMS outbox sends them through the HTTP provider adapter (one JSON request per message,
LOYALTY_SMS_CONCURRENCY at a time) to a provider stand-in in another process on a local
port, which answers {"CodeResult": "100"} as a Vietnamese brandname gateway does. Prints
the time until the campaign was SENT (every message written), the time until the provider
had accepted every message, and messages per second.

    python -m bench.campaign_sms                 # SQLite + embedded Redis
    LOYALTY_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    LOYALTY_BENCH_REDIS_URL=redis://127.0.0.1:6379/0 python -m bench.campaign_sms
Options: --members N (default 100000), --concurrency N (requests in flight, default 8:
with a provider on the same machine there is no latency to hide, and httpx's pool slows
past a few connections).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import subprocess
import sys
import time

from bench import common

ANSWER = b'{"CodeResult":"100"}'


async def _provider(port: int) -> None:
    """The provider stand-in: keep-alive HTTP/1.1, counts what it accepted (GET /count)."""
    accepted = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                if head.startswith(b"GET /count"):
                    body = str(accepted).encode()
                else:
                    accepted += 1
                    body = ANSWER
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


async def main(args: argparse.Namespace, port: int) -> None:
    import httpx

    from core import clock
    from core.settings import Settings
    from engage import background, campaigns, channel_settings, deliveries, templates
    from engage.channel_settings import ChannelSettings
    from engage.models import MessageDelivery, NotificationCampaign
    from members.consents import Channel
    from members.models import Member, MemberConsent
    from members.program import ProgramChanges, update_program

    logging.getLogger("loyalty.messages").setLevel(logging.WARNING)
    common.print_machine()
    if True:
        async with common.services("campaign_sms") as settings:
            now = clock.now()
            await Member.bulk_create(
                [
                    Member(
                        external_id=f"sms-{n}",
                        display_name=f"Khách {n}",
                        phone=f"09{n:08d}",
                        tags=[],
                        enrolled_at=now,
                        referral_code=f"S{n:07d}",
                    )
                    for n in range(args.members)
                ],
                batch_size=2000,
            )
            ids = await Member.all().values_list("id", flat=True)
            await MemberConsent.bulk_create(
                [
                    MemberConsent(member_id=m, channel="SMS", granted=True, updated_at=now)
                    for m in ids
                ],
                batch_size=2000,
            )
            unlimited = ("quiet_hours_start", "quiet_hours_end", "max_notifications_per_week")
            await update_program(ProgramChanges(quiet_windows=[], clear=unlimited))
            await templates.upsert(
                templates.TemplateInput(
                    "flash-sale", Channel.SMS, None, "{displayName} oi, giam 20% hom nay!"
                )
            )
            url = f"http://127.0.0.1:{port}/sms"
            channel_settings.configure(
                Settings(secret_key="bench"),
                ChannelSettings.model_construct(
                    sms_url=url,
                    sms_body='{"Phone": "{phone}", "Content": "{body}", "Id": "{deliveryId}"}',
                    sms_success='{"CodeResult": "100"}',
                    sms_concurrency=args.concurrency,
                ),
            )
            db = common.backend(settings.effective_database_url)
            print(f"{args.members} members who take SMS, on {db}", flush=True)
            started = time.perf_counter()
            campaign = await campaigns.create_campaign(
                campaigns.CampaignData(None, None, channel=Channel.SMS, template_key="flash-sale")
            )
            await background.drain()
            await deliveries.flush(Channel.SMS)  # what the kicks left, as the job would
            elapsed = time.perf_counter() - started
            row = await NotificationCampaign.get(id=campaign.id)
            assert row.status == "SENT" and row.finished_at is not None
            written = (row.finished_at - row.created_at).total_seconds()
            sent = await MessageDelivery.filter(channel="SMS", status="SENT").count()
            async with httpx.AsyncClient() as client:
                accepted = int((await client.get(f"http://127.0.0.1:{port}/count")).text)
            print(
                f"campaign SENT (inbox + SMS deliveries written) after {written:.1f} s;"
                f" all {sent} SMS accepted by the provider after {elapsed:.1f} s"
                f" ({sent / elapsed:,.0f} messages/s end to end, {args.concurrency} requests"
                f" in flight); the provider counted {accepted}"
            )
    common.print_load_after()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--provider", type=int, help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.provider:
        asyncio.run(_provider(parsed.provider))
    else:
        port = common.free_port()
        provider = subprocess.Popen(
            [sys.executable, "-m", "bench.campaign_sms", "--provider", str(port)],
            stdout=subprocess.DEVNULL,
        )
        try:
            asyncio.run(main(parsed, port))
        finally:
            provider.terminate()
            provider.wait(timeout=10)
