"""The HTTP provider adapter: SMS (a Vietnamese SMS brandname gateway) and ZALO (Zalo ZNS)
as configuration, not code.

A provider is a URL, headers and a JSON body template (ProviderConfig, from LOYALTY_SMS_* or
LOYALTY_ZALO_* settings; engage/channel_settings.py). Every string in the body and header
templates may hold placeholders, filled per message:

    {to} {phone}     the member's phone as stored (0901234567)
    {phoneIntl}      the same with its country code, digits only (84901234567)
    {title} {body}   the message as written from its template
    {deliveryId}     our id of the delivery (a request id the provider echoes)
    {memberId} {templateKey}
    {providerTemplateId}  the provider's template id for the message's key (Zalo ZNS
                     sends pre-approved templates: LOYALTY_ZALO_TEMPLATE_IDS maps our keys
                     to theirs)
    {apiKey} {secretKey} {accessToken} {sender}   credentials and brandname, from settings
    and every message placeholder ({displayName}, {points}, {expiresOn} ...).

One request per message, `concurrency` at a time on one connection pool. Connection
errors, timeouts, 429 and 5xx are retried within the call with exponential backoff; a
4xx, or a 2xx whose JSON lacks the `success` fields (e.g. {"CodeResult": "100"} or
{"error": 0}), is a refusal retrying cannot change.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from engage.senders import SENT, Message, Outcome
from engage.templates import PLACEHOLDERS
from members.consents import Channel

MESSAGE_FIELDS = (
    "to",
    "phone",
    "phoneIntl",
    "title",
    "body",
    "deliveryId",
    "memberId",
    "templateKey",
    "providerTemplateId",
)
CREDENTIALS = ("apiKey", "secretKey", "accessToken", "sender")
KNOWN = frozenset((*MESSAGE_FIELDS, *CREDENTIALS, *PLACEHOLDERS))
_NAME = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
ERROR_TEXT = 300


@dataclass(frozen=True)
class ProviderConfig:
    channel: Channel
    url: str
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)
    success: Mapping[str, Any] = field(default_factory=dict)
    credentials: Mapping[str, str] = field(default_factory=dict)
    template_ids: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 10.0
    concurrency: int = 20
    attempts: int = 3
    backoff: float = 0.5


def unknown_names(template: Any) -> set[str]:
    """Placeholders in a body or header template that no message can fill."""
    if isinstance(template, str):
        return set(_NAME.findall(template)) - KNOWN
    if isinstance(template, dict):
        return set().union(*(unknown_names(v) for v in template.values()), set())
    if isinstance(template, list):
        return set().union(*(unknown_names(v) for v in template), set())
    return set()


def fill(template: Any, values: Mapping[str, str]) -> Any:
    """The template with every placeholder in its strings replaced (JSON stays JSON)."""
    if isinstance(template, str):
        return _NAME.sub(lambda m: values.get(m.group(1), m.group(0)), template)
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


def international(phone: str) -> str:
    """84901234567 for 0901234567 (Vietnam) and 12025550123 for +12025550123."""
    digits = re.sub(r"\D", "", phone)
    if phone.startswith("+"):
        return digits
    if digits.startswith("0"):
        return "84" + digits[1:]
    return digits


def _dig(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def accepted(answer: Any, success: Mapping[str, Any]) -> bool:
    return all(str(_dig(answer, path)) == str(want) for path, want in success.items())


class HttpProviderSender:
    def __init__(self, config: ProviderConfig) -> None:
        self.config = config

    def values(self, m: Message) -> dict[str, str]:
        c = self.config
        return {
            **m.data,
            **c.credentials,
            "to": m.to,
            "phone": m.to,
            "phoneIntl": international(m.to),
            "title": m.title or "",
            "body": m.body,
            "deliveryId": str(m.delivery_id),
            "memberId": str(m.member_id),
            "templateKey": m.template_key,
            "providerTemplateId": c.template_ids.get(m.template_key, ""),
        }

    async def send(self, messages: Sequence[Message]) -> list[Outcome]:
        c = self.config
        gate = asyncio.Semaphore(c.concurrency)
        limits = httpx.Limits(
            max_connections=c.concurrency, max_keepalive_connections=c.concurrency
        )
        async with httpx.AsyncClient(timeout=c.timeout, limits=limits) as client:

            async def one(m: Message) -> Outcome:
                async with gate:
                    return await self._post(client, m)

            return list(await asyncio.gather(*(one(m) for m in messages)))

    async def _post(self, client: httpx.AsyncClient, m: Message) -> Outcome:
        c = self.config
        values = self.values(m)
        body = json.dumps(fill(c.body, values), ensure_ascii=False).encode()
        headers = {"content-type": "application/json", **fill(dict(c.headers), values)}
        problem = ""
        for attempt in range(c.attempts):
            if attempt:
                await asyncio.sleep(c.backoff * 2 ** (attempt - 1))
            try:
                response = await client.post(c.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"[:ERROR_TEXT] or type(exc).__name__
                continue
            if response.status_code == 429 or response.status_code >= 500:
                problem = f"HTTP {response.status_code}"
                continue
            if response.status_code >= 300:
                return Outcome(f"HTTP {response.status_code}: {_short(response)}", final=True)
            if c.success:
                try:
                    answer = response.json()
                except ValueError:
                    answer = None
                if not accepted(answer, c.success):
                    return Outcome(f"refused: {_short(response)}", final=True)
            return SENT
        return Outcome(problem or "unreachable")


def _short(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:ERROR_TEXT] or "(empty answer)"
