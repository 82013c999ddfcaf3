"""Channels: message templates and webhooks (admin)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from engage import templates, webhooks
from engage.models import Webhook as WebhookModel
from engage.models import WebhookDelivery as WebhookDeliveryModel
from gql.context import Info
from gql.errors import UserError, payload_errors
from gql.permissions import IsAdmin
from gql.schema import care_member  # registers the Channel enum
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

    @classmethod
    def of(cls, t: templates.Template) -> MessageTemplate:
        return cls(
            key=t.key,
            channel=t.channel,
            title=t.title,
            body=t.body,
            built_in=t.built_in,
            updated_at=t.updated_at,
        )


@strawberry.input
class MessageTemplateInput:
    key: str
    channel: Channel
    title: str | None = strawberry.field(
        default=None, description="The push title or the email subject (required for EMAIL)."
    )
    body: str


@strawberry.type
class MessageTemplatePayload:
    template: MessageTemplate | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


# --------------------------------------------------------------------------- webhooks


@strawberry.type
class Webhook:
    model: strawberry.Private[WebhookModel]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field
    def url(self) -> str:
        return self.model.url

    @strawberry.field(description="Event names, e.g. order.recorded, points.credited.")
    def events(self) -> list[str]:
        return list(self.model.events)

    @strawberry.field
    def active(self) -> bool:
        return self.model.active

    @strawberry.field
    def created_at(self) -> datetime:
        return self.model.created_at


@strawberry.type
class WebhookPayload:
    webhook: Webhook | None = None
    secret: str | None = strawberry.field(
        default=None,
        description=(
            "Shown once: each delivery carries an HMAC-SHA256 of its body under this secret"
            " (header X-Loyalty-Signature: sha256=<hex>)."
        ),
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WebhookDelivery:
    model: strawberry.Private[WebhookDeliveryModel]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field
    def event(self) -> str:
        return self.model.event

    @strawberry.field(description="The event's id, as its body and X-Loyalty-Event-Id carry it.")
    def event_id(self) -> str:
        return self.model.event_id

    @strawberry.field(description="PENDING, DELIVERED or FAILED.")
    def status(self) -> str:
        return self.model.status

    @strawberry.field
    def attempts(self) -> int:
        return self.model.attempts

    @strawberry.field
    def last_status_code(self) -> int | None:
        return self.model.last_status_code

    @strawberry.field(description="Why the last attempt failed (a timeout, a refused connection).")
    def last_error(self) -> str | None:
        return self.model.last_error

    @strawberry.field(description="When the next attempt is due (null once delivered or failed).")
    def next_attempt_at(self) -> datetime | None:
        return self.model.due_at

    @strawberry.field
    def created_at(self) -> datetime:
        return self.model.created_at

    @strawberry.field
    def delivered_at(self) -> datetime | None:
        return self.model.delivered_at


# --------------------------------------------------------------------------- roots


__all__ = ["Mutation", "Query", "care_member"]


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[IsAdmin], description="Admin.")
    async def message_templates(self, info: Info) -> list[MessageTemplate]:
        return [MessageTemplate.of(t) for t in await templates.all_templates()]

    @strawberry.field(permission_classes=[IsAdmin], description="Admin.")
    async def webhooks(self, info: Info) -> list[Webhook]:
        return [Webhook(model=w) for w in await webhooks.list_webhooks()]

    @strawberry.field(permission_classes=[IsAdmin], description="Admin.")
    async def webhook_deliveries(
        self, info: Info, webhook_id: strawberry.ID, first: int = 50
    ) -> list[WebhookDelivery]:
        found = await webhooks.deliveries_of(parse_id(webhook_id, "webhookId"), first)
        return [WebhookDelivery(model=d) for d in found]


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[IsAdmin], description="Admin.")
    @payload_errors(MessageTemplatePayload)
    async def upsert_message_template(
        self, info: Info, input: MessageTemplateInput
    ) -> MessageTemplatePayload:
        saved = await templates.upsert(
            templates.TemplateInput(input.key, input.channel, input.title, input.body)
        )
        return MessageTemplatePayload(template=MessageTemplate.of(saved))

    @strawberry.mutation(permission_classes=[IsAdmin], description="Admin.")
    @payload_errors(WebhookPayload)
    async def create_webhook(self, info: Info, url: str, events: list[str]) -> WebhookPayload:
        hook, secret = await webhooks.create(url, events)
        return WebhookPayload(webhook=Webhook(model=hook), secret=secret)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Admin.")
    @payload_errors(WebhookPayload)
    async def delete_webhook(self, info: Info, id: strawberry.ID) -> WebhookPayload:
        return WebhookPayload(webhook=Webhook(model=await webhooks.delete(parse_id(id, "id"))))
