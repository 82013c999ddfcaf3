"""Channels: message templates and webhooks (admin)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from engage import templates, webhooks
from gql.context import Info
from gql.permissions import IsAdmin
from gql.schema import care_member  # registers the Channel enum
from gql.types import Payload, from_input, from_row, mutation, row_field
from gql.validation import parse_id
from members.consents import Channel

# --------------------------------------------------------------------------- templates


@strawberry.type
class MessageTemplate:
    key: str = strawberry.field(
        description=(
            "A transactional key (welcome, birthday, tier.up, tier.at_risk, mission.completed,"
            " points.expiring, voucher.expiring) or a campaign's own key."
        )
    )
    channel: Channel
    title: str | None
    body: str = strawberry.field(
        description=(
            "Placeholders in braces: {displayName}, {points}, {pointsBalance}, {tierName},"
            " {voucherCode}, {expiresOn}, {missionName}, {amount}, {link}."
        )
    )
    built_in: bool = strawberry.field(
        description="True while the built-in Vietnamese text is in force (no admin override)."
    )
    updated_at: datetime | None


@strawberry.input
class MessageTemplateInput:
    key: str
    channel: Channel
    title: str | None = strawberry.field(
        default=None, description="The push title or the email subject (required for EMAIL)."
    )
    body: str


@strawberry.type
class MessageTemplatePayload(Payload):
    template: MessageTemplate | None = None


# --------------------------------------------------------------------------- webhooks


@strawberry.type
class Webhook:
    id: strawberry.ID
    url: str
    events: list[str] = strawberry.field(
        description="Event names, e.g. order.recorded, points.credited."
    )
    active: bool
    created_at: datetime


@strawberry.type
class WebhookPayload(Payload):
    webhook: Webhook | None = None
    secret: str | None = strawberry.field(
        default=None,
        description=(
            "Shown once: each delivery carries an HMAC-SHA256 of its body under this secret"
            " (header X-Loyalty-Signature: sha256=<hex>)."
        ),
    )


@strawberry.type
class WebhookDelivery:
    id: strawberry.ID
    event: str
    event_id: str = strawberry.field(
        description="The event's id, as its body and X-Loyalty-Event-Id carry it."
    )
    status: str = strawberry.field(description="PENDING, DELIVERED or FAILED.")
    attempts: int
    last_status_code: int | None
    last_error: str | None = strawberry.field(
        description="Why the last attempt failed (a timeout, a refused connection)."
    )
    next_attempt_at: datetime | None = row_field(
        "due_at", "When the next attempt is due (null once delivered or failed)."
    )
    created_at: datetime
    delivered_at: datetime | None


# --------------------------------------------------------------------------- roots


__all__ = ["Mutation", "Query", "care_member"]


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[IsAdmin], description="Admin.")
    async def message_templates(self, info: Info) -> list[MessageTemplate]:
        return [from_row(MessageTemplate, t) for t in await templates.all_templates()]

    @strawberry.field(permission_classes=[IsAdmin], description="Admin.")
    async def webhooks(self, info: Info) -> list[Webhook]:
        return [from_row(Webhook, w) for w in await webhooks.list_webhooks()]

    @strawberry.field(permission_classes=[IsAdmin], description="Admin.")
    async def webhook_deliveries(
        self, info: Info, webhook_id: strawberry.ID, first: int = 50
    ) -> list[WebhookDelivery]:
        found = await webhooks.deliveries_of(parse_id(webhook_id, "webhookId"), first)
        return [from_row(WebhookDelivery, d) for d in found]


@strawberry.type
class Mutation:
    @mutation(IsAdmin, description="Admin.")
    async def upsert_message_template(
        self, info: Info, input: MessageTemplateInput
    ) -> MessageTemplatePayload:
        saved = await templates.upsert(from_input(templates.TemplateInput, input))
        return MessageTemplatePayload(template=from_row(MessageTemplate, saved))

    @mutation(IsAdmin, description="Admin.")
    async def create_webhook(self, info: Info, url: str, events: list[str]) -> WebhookPayload:
        hook, secret = await webhooks.create(url, events)
        return WebhookPayload(webhook=from_row(Webhook, hook), secret=secret)

    @mutation(IsAdmin, description="Admin.")
    async def delete_webhook(self, info: Info, id: strawberry.ID) -> WebhookPayload:
        return WebhookPayload(webhook=from_row(Webhook, await webhooks.delete(parse_id(id, "id"))))
