"""Channel configuration: which provider carries SMS, Zalo and email, read from LOYALTY_*.

A channel without its URL (or SMTP host) logs its messages instead of sending them, so
the default run sends nothing anywhere. Secrets (API keys, tokens, the SMTP password)
come only from these settings, never from the API, and are never printed.

    LOYALTY_SMS_URL / LOYALTY_ZALO_URL        the provider's endpoint (POST, JSON)
    LOYALTY_SMS_BODY / LOYALTY_ZALO_BODY      the JSON body template (engage/providers.py)
    LOYALTY_SMS_HEADERS / ..._HEADERS         a JSON object of extra headers (templates too)
    LOYALTY_SMS_SUCCESS / ..._SUCCESS         a JSON object the answer must contain
    LOYALTY_SMS_API_KEY, _SECRET_KEY, _SENDER ({apiKey} {secretKey} {sender}); Zalo also
    LOYALTY_ZALO_ACCESS_TOKEN ({accessToken})
    LOYALTY_SMS_TEMPLATE_IDS / ..._TEMPLATE_IDS  {"birthday": "<provider template id>"}
    LOYALTY_SMS_TIMEOUT_SECONDS, _CONCURRENCY, _ATTEMPTS, _BACKOFF_SECONDS (retries in a call)
    LOYALTY_SMTP_HOST, _PORT, _USERNAME, _PASSWORD, _FROM, _STARTTLS, _TLS, _TIMEOUT_SECONDS
    LOYALTY_PUBLIC_URL            where this server is reached from outside (tracked links)
    LOYALTY_LINK_TARGET_URL       where a tracked link leads: a URL with {deepLink} in it
    LOYALTY_WEBHOOK_ALLOW_PRIVATE webhooks may target private addresses (default: only in
                                  development)
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.settings import ConfigError, Settings, env_name, explain
from engage import links, providers, push, senders, smtp, webhooks
from members.consents import Channel

# The body a provider gets when its settings give none: enough for a generic gateway.
DEFAULT_BODY = '{"to": "{phone}", "text": "{body}", "id": "{deliveryId}"}'


class ChannelSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOYALTY_", extra="ignore")

    sms_url: str | None = None
    sms_body: str = DEFAULT_BODY
    sms_headers: str = ""
    sms_success: str = ""
    sms_api_key: str | None = None
    sms_secret_key: str | None = None
    sms_sender: str | None = None
    sms_template_ids: str = ""
    sms_timeout_seconds: float = Field(default=10.0, gt=0)
    sms_concurrency: int = Field(default=20, ge=1, le=500)
    sms_attempts: int = Field(default=3, ge=1, le=10)
    sms_backoff_seconds: float = Field(default=0.5, ge=0, le=60)

    zalo_url: str | None = None
    zalo_body: str = DEFAULT_BODY
    zalo_headers: str = ""
    zalo_success: str = ""
    zalo_api_key: str | None = None
    zalo_secret_key: str | None = None
    zalo_access_token: str | None = None
    zalo_sender: str | None = None
    zalo_template_ids: str = ""
    zalo_timeout_seconds: float = Field(default=10.0, gt=0)
    zalo_concurrency: int = Field(default=20, ge=1, le=500)
    zalo_attempts: int = Field(default=3, ge=1, le=10)
    zalo_backoff_seconds: float = Field(default=0.5, ge=0, le=60)

    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "no-reply@localhost"
    smtp_starttls: bool = True
    smtp_tls: bool = False
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)

    public_url: str | None = None
    link_target_url: str | None = None
    # Webhooks to loopback or private addresses: allowed in development, refused in
    # production unless set to true.
    webhook_allow_private: bool | None = None


@lru_cache(maxsize=1)
def from_env() -> ChannelSettings:
    """The process's channel settings; ConfigError (one line) when one is invalid."""
    try:
        return ChannelSettings()
    except ValidationError as exc:
        raise explain(exc) from None


def _json(setting: str, text: str, kind: type, default: Any) -> Any:
    """A JSON setting parsed; its value is never quoted back (it may hold credentials)."""
    if not text.strip():
        return default
    try:
        value = json.loads(text)
    except ValueError:
        raise ConfigError(f"{env_name(setting)}: not valid JSON") from None
    if not isinstance(value, kind):
        raise ConfigError(f"{env_name(setting)}: expected a JSON {kind.__name__}")
    return value


def provider(s: ChannelSettings, channel: Channel) -> providers.ProviderConfig | None:
    """The provider of SMS or ZALO, or None when its URL is not set."""
    p = channel.value.lower()

    def get(name: str) -> Any:
        return getattr(s, f"{p}_{name}", None)

    url = get("url")
    if not url:
        return None
    if not str(url).startswith(("http://", "https://")):
        raise ConfigError(f"{env_name(p + '_url')}={url!r}: expected an http:// or https:// URL")
    body = _json(f"{p}_body", get("body"), dict, {})
    headers = _json(f"{p}_headers", get("headers"), dict, {})
    for name, template in ((f"{p}_body", body), (f"{p}_headers", headers)):
        unknown = providers.unknown_names(template)
        if unknown:
            raise ConfigError(
                f"{env_name(name)}: unknown placeholder {{{sorted(unknown)[0]}}}; known: "
                + ", ".join("{" + n + "}" for n in sorted(providers.KNOWN))
            )
    credentials = {
        "apiKey": get("api_key") or "",
        "secretKey": get("secret_key") or "",
        "accessToken": get("access_token") or "",
        "sender": get("sender") or "",
    }
    return providers.ProviderConfig(
        channel=channel,
        url=str(url),
        body=body,
        headers={str(k): str(v) for k, v in headers.items()},
        success=_json(f"{p}_success", get("success"), dict, {}),
        credentials=credentials,
        template_ids={
            str(k): str(v)
            for k, v in _json(f"{p}_template_ids", get("template_ids"), dict, {}).items()
        },
        timeout=float(get("timeout_seconds")),
        concurrency=int(get("concurrency")),
        attempts=int(get("attempts")),
        backoff=float(get("backoff_seconds")),
    )


def smtp_config(s: ChannelSettings) -> smtp.SmtpConfig | None:
    if not s.smtp_host:
        return None
    return smtp.SmtpConfig(
        host=s.smtp_host,
        port=s.smtp_port,
        sender=s.smtp_from,
        username=s.smtp_username,
        password=s.smtp_password,
        starttls=s.smtp_starttls,
        tls=s.smtp_tls,
        timeout=s.smtp_timeout_seconds,
    )


_current = ChannelSettings.model_construct()


def current() -> ChannelSettings:
    """The channel settings configured last (links read the public URL from here)."""
    return _current


def configure(settings: Settings, channels: ChannelSettings | None = None) -> None:
    """Pick every channel's sender: the configured provider, else the log."""
    global _current
    channels = channels if channels is not None else from_env()
    senders.reset()
    if settings.push_webhook_url:
        senders.use(Channel.PUSH, push.WebhookSender(settings.push_webhook_url))
    for channel in (Channel.SMS, Channel.ZALO):
        config = provider(channels, channel)
        if config is not None:
            senders.use(channel, providers.HttpProviderSender(config))
    mail = smtp_config(channels)
    if mail is not None:
        senders.use(Channel.EMAIL, smtp.SmtpSender(mail))
    links.configure(settings.secret_key, channels.public_url, channels.link_target_url)
    allow = channels.webhook_allow_private
    webhooks.configure(not settings.production if allow is None else allow)
    _current = channels
