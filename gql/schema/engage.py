"""Notification campaigns, the inbox, NPS and program analytics; its roots also serve
segments' two fields (gql/schema/segments.py) in the place they have always had."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import strawberry

from engage import analytics, campaign_results, campaigns, notifications, nps
from engage.models import CampaignStatus
from engage.models import NotificationCampaign as CampaignModel
from gql.context import Info
from gql.loaders import keyed
from gql.permissions import IsAdmin, IsMember
from gql.scalars import BigInt
from gql.schema import care_member  # noqa: F401  (registers the Channel enum)
from gql.schema import segments as segments_area
from gql.schema.tiers import Tier
from gql.subscriptions import member_event
from gql.types import Payload, from_input, from_row, mutation
from gql.validation import INT64_MAX, parse_id
from members.consents import Channel

strawberry.enum(CampaignStatus, name="CampaignStatus")


# --------------------------------------------------------------------------- campaigns


@strawberry.type
class CampaignStats:
    targeted: int
    delivered: int = strawberry.field(
        description="Messages made: in the inbox and queued on the campaign's channel."
    )
    suppressed_by_cap: int = strawberry.field(description="Held back by the weekly cap.")
    deferred_by_quiet_hours: int = strawberry.field(description="Delivery moved past quiet hours.")
    suppressed_by_consent: int = strawberry.field(
        description="Targeted members who had not consented to the campaign's channel."
    )
    model: strawberry.Private[CampaignModel]

    async def _results(self, info: Info) -> campaign_results.Results:
        loader = info.context.loaders.extra.get("campaign_results")
        if loader is None:
            loader = info.context.loaders.extra["campaign_results"] = keyed(_campaign_results)
        return await loader.load(self.model.id) or campaign_results.Results()

    @strawberry.field(description="Members who read or tapped the message.")
    async def opened(self, info: Info) -> int:
        return (await self._results(info)).opened

    @strawberry.field(description="Members who ordered within the conversion window.")
    async def converted(self, info: Info) -> int:
        return (await self._results(info)).converted

    @strawberry.field(
        description="Sum of the converting orders' amounts (less what was refunded of them)."
    )
    async def revenue(self, info: Info) -> Decimal:
        return (await self._results(info)).revenue

    @strawberry.field(description="Messages the channel's provider accepted.")
    async def sent(self, info: Info) -> int:
        return (await self._results(info)).sent

    @strawberry.field(description="Messages refused by the provider, or given up after retries.")
    async def failed(self, info: Info) -> int:
        return (await self._results(info)).failed


async def _campaign_results(keys: list[int]) -> Any:
    return (await campaign_results.of(keys)).items()


@strawberry.type
class NotificationCampaign:
    model: strawberry.Private[CampaignModel]
    id: strawberry.ID
    title: str
    body: str
    deep_link: str | None
    send_at: datetime | None
    due_at: datetime = strawberry.field(
        description="When delivery starts or started (moved past quiet hours)."
    )
    segment_id: strawberry.ID | None
    status: CampaignStatus
    channel: Channel
    template_key: str | None = strawberry.field(
        description="The stored template its title and body came from."
    )
    conversion_window_days: int = strawberry.field(
        description="An order within this many days after delivery converts."
    )

    @strawberry.field
    def stats(self) -> CampaignStats:
        return from_row(CampaignStats, self.model)


@strawberry.input
class NotificationCampaignInput:
    title: str | None = strawberry.field(
        default=None, description="Required unless templateKey is given (which replaces it)."
    )
    body: str | None = strawberry.field(
        default=None,
        description=(
            "Required unless templateKey is given (which replaces it). Placeholders such as"
            " {displayName} are filled per member."
        ),
    )
    deep_link: str | None = strawberry.field(
        default=None,
        description="App route opened on tap, e.g. 'voucher-offer/<id>' or 'mission/<id>'.",
    )
    segment_id: strawberry.ID | None = None
    send_at: datetime | None = strawberry.field(
        default=None, description="Null = now (still subject to quiet hours)."
    )
    channel: Channel | None = strawberry.field(
        default=None,
        description=(
            "Default PUSH. Members without consent for the channel are skipped and counted."
        ),
    )
    template_key: str | None = strawberry.field(
        default=None, description="A stored template instead of title and body."
    )
    conversion_window_days: int | None = strawberry.field(
        default=None,
        description=(
            "An order within this many days after delivery counts as a conversion; default 7."
        ),
    )


@strawberry.type
class NotificationCampaignPayload(Payload):
    campaign: NotificationCampaign | None = None


# --------------------------------------------------------------------------- inbox


@strawberry.type
class Notification:
    id: strawberry.ID
    title: str
    body: str
    deep_link: str | None
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> Notification:
        read_at = data.get("readAt")
        return cls(
            id=strawberry.ID(str(data["id"])),
            title=data["title"],
            body=data["body"],
            deep_link=data.get("deepLink"),
            created_at=datetime.fromisoformat(data["createdAt"]),
            read_at=datetime.fromisoformat(read_at) if read_at else None,
        )


@strawberry.type
class NotificationReceived:
    notification: Notification
    at: datetime


@member_event("NotificationReceived")
async def _notification_received(message: dict[str, Any], info: Info) -> NotificationReceived:
    return NotificationReceived(
        notification=Notification.from_snapshot(message["notification"]),
        at=datetime.fromisoformat(message["at"]),
    )


@strawberry.type
class MarkReadPayload(Payload):
    unread_count: int = 0


# --------------------------------------------------------------------------- NPS, analytics


@strawberry.type
class NpsPayload(Payload):
    points_awarded: int = 0


@strawberry.type
class NpsSummary:
    score: float | None = strawberry.field(
        description="Percent promoters minus percent detractors, -100..100; null without responses."
    )
    responses: int
    promoters: int
    passives: int
    detractors: int


@strawberry.type
class TierCount:
    tier: Tier | None
    members: int


@strawberry.type
class RfmCount:
    segment: str
    members: int


@strawberry.type
class ProgramAnalytics:
    members: int
    new_members: int
    active_members: int = strawberry.field(
        description="Members with an order or action in the range."
    )
    retention_rate: float | None = strawberry.field(
        description=(
            "Of members active in the previous range of equal length,"
            " the percent active in this one."
        )
    )
    average_lifetime_value: Decimal = strawberry.field(
        description="Average of members' total completed order amount."
    )
    points_issued: BigInt
    points_redeemed: BigInt
    redemption_rate: float | None = strawberry.field(
        description="Points redeemed / points issued in the range, percent."
    )
    tiers: list[TierCount]
    rfm: list[RfmCount]
    nps: NpsSummary
    from_: datetime = strawberry.field(name="from", description="Start of the range used.")
    to: datetime = strawberry.field(description="End of the range used (exclusive).")


# --------------------------------------------------------------------------- roots


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[IsMember], description="Member.")
    async def my_notifications(
        self, info: Info, unread_only: bool | None = False, first: int = 20
    ) -> list[Notification]:
        found = await notifications.inbox(info.context.member_id, bool(unread_only), first)
        return [from_row(Notification, n) for n in found]

    segments = segments_area.segments_field

    @strawberry.field(permission_classes=[IsAdmin], description="Admin.")
    async def campaigns(self, info: Info) -> list[NotificationCampaign]:
        return [from_row(NotificationCampaign, c) for c in await campaigns.list_campaigns()]

    @strawberry.field(permission_classes=[IsAdmin], description="Admin.")
    async def analytics(
        self,
        info: Info,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
    ) -> ProgramAnalytics:
        found = await analytics.compute(from_, to)
        rfm = [RfmCount(segment=s, members=n) for s, n in found.rfm]
        return from_row(ProgramAnalytics, found, rfm=rfm, from_=found.start, to=found.end)


@strawberry.type
class Mutation:
    create_segment = segments_area.create_segment

    @mutation(IsAdmin)
    async def create_notification_campaign(
        self, info: Info, input: NotificationCampaignInput
    ) -> NotificationCampaignPayload:
        segment_id = parse_id(input.segment_id, "input.segmentId")
        campaign = await campaigns.create_campaign(
            from_input(campaigns.CampaignData, input, segment_id=segment_id)
        )
        return NotificationCampaignPayload(campaign=from_row(NotificationCampaign, campaign))

    @mutation(IsAdmin)
    async def cancel_notification_campaign(
        self, info: Info, id: strawberry.ID
    ) -> NotificationCampaignPayload:
        campaign = await campaigns.cancel_campaign(parse_id(id, "id"))
        return NotificationCampaignPayload(campaign=from_row(NotificationCampaign, campaign))

    @mutation(IsMember)
    async def mark_notifications_read(
        self, info: Info, ids: list[strawberry.ID]
    ) -> MarkReadPayload:
        wanted = [str(parse_id(i, ["ids", str(n)], INT64_MAX)) for n, i in enumerate(ids)]
        unread = await notifications.mark_read(info.context.member_id, wanted)
        return MarkReadPayload(unread_count=unread)

    @mutation(IsMember)
    async def submit_nps(self, info: Info, score: int, comment: str | None = None) -> NpsPayload:
        return NpsPayload(points_awarded=await nps.submit(info.context.member_id, score, comment))
