"""Senders: what carries a message on a channel, behind one interface, chosen per channel.

    Sender        `async send(messages) -> outcomes`: one Outcome per message, in order;
                  it never raises for a message it could not send (that is an Outcome)
    Outcome       accepted (error None), or refused with an error, `final` when retrying
                  cannot help (a bad number, a 4xx); the delivery outbox retries the rest
    LogSender     the default of every channel: logs what it would send
    push.WebhookSender          PUSH, LOYALTY_PUSH_WEBHOOK_URL (a push gateway)
    providers.HttpProviderSender  SMS and ZALO, an HTTP provider described by settings
    email.SmtpSender            EMAIL over SMTP

`configure(settings, channel_settings)` picks each channel's sender from configuration;
`use(channel, sender)` replaces one (tests, another push platform).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from members.consents import Channel

log = logging.getLogger("loyalty.messages")


@dataclass(frozen=True)
class Message:
    """One message as its sender gets it (engage.deliveries builds them)."""

    delivery_id: int
    channel: Channel
    member_id: int
    # The phone (SMS, ZALO) or email (EMAIL); PUSH: the member id as text.
    to: str
    template_key: str
    kind: str
    title: str | None
    body: str
    deep_link: str | None
    campaign_id: int | None
    notification_id: int | None
    created_at: datetime
    # The placeholder values the message was written with ({displayName}, {points} ...).
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    error: str | None = None
    final: bool = False  # refused for good: retrying later cannot help

    @property
    def sent(self) -> bool:
        return self.error is None


SENT = Outcome()


class Sender(Protocol):
    async def send(self, messages: Sequence[Message]) -> list[Outcome]: ...


class LogSender:
    """Logs what would be sent (the default run has no provider)."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    async def send(self, messages: Sequence[Message]) -> list[Outcome]:
        log.info("%s: %d message(s) (logged, not sent)", self.channel.value, len(messages))
        for m in messages:
            log.debug("%s to %s: %s", self.channel.value, m.to, m.title or m.body[:60])
        return [SENT for _ in messages]


_senders: dict[Channel, Sender] = {}


def use(channel: Channel, sender: Sender) -> None:
    _senders[channel] = sender


def reset() -> None:
    """Every channel back to logging."""
    for channel in Channel:
        _senders[channel] = LogSender(channel)


def sender(channel: Channel) -> Sender:
    found = _senders.get(channel)
    if found is None:
        found = _senders[channel] = LogSender(channel)
    return found


reset()
