"""Tracked links: `{link}` in a message becomes a short URL of this server that records the
member opened the message, then leads to its target.

The URL is LOYALTY_PUBLIC_URL + /l/<token>; the token is the delivery id and an HMAC of it
under the server's secret key, so links cannot be guessed or walked. Following one sets the
delivery's opened_at (the first time) and answers with where to go: the message's deep
link when it is a web address, else LOYALTY_LINK_TARGET_URL with {deepLink} filled in,
else nothing (the server then shows a short thank-you page). Without LOYALTY_PUBLIC_URL a
message has no link and `{link}` is written as nothing.

Campaign results count a member who followed a link as having opened the message, as
they count a member who read it in the inbox (the app marks a tapped push read).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote

from core import clock, sql

SIGNATURE_BYTES = 8


@dataclass(frozen=True)
class LinkConfig:
    secret: bytes = b""
    public_url: str = ""
    target_url: str = ""


_config = LinkConfig()


def configure(secret: str | None, public_url: str | None, target_url: str | None) -> None:
    global _config
    _config = LinkConfig(
        secret=(secret or "").encode(),
        public_url=(public_url or "").rstrip("/"),
        target_url=target_url or "",
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _signature(delivery_id: int) -> bytes:
    digest = hmac.new(_config.secret, f"link:{delivery_id}".encode(), hashlib.sha256)
    return digest.digest()[:SIGNATURE_BYTES]


def token(delivery_id: int) -> str:
    return _b64(delivery_id.to_bytes(8, "big").lstrip(b"\0") + _signature(delivery_id))


def delivery_of(value: str) -> int | None:
    """The delivery id a token names, or None when it was not made here."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        return None
    if not SIGNATURE_BYTES < len(raw) <= SIGNATURE_BYTES + 8:
        return None
    delivery_id = int.from_bytes(raw[:-SIGNATURE_BYTES], "big")
    if not hmac.compare_digest(raw[-SIGNATURE_BYTES:], _signature(delivery_id)):
        return None
    return delivery_id


def url_for(delivery_id: int) -> str:
    if not _config.public_url:
        return ""
    return f"{_config.public_url}/l/{token(delivery_id)}"


def fill(text: str, link: str) -> str:
    return text.replace("{link}", link) if "{link}" in text else text


async def follow(value: str) -> tuple[bool, str | None]:
    """Record that the link of `value` was followed: (known, where to go next)."""
    delivery_id = delivery_of(value)
    if delivery_id is None:
        return False, None
    found = await sql.row(
        "UPDATE message_delivery SET opened_at = COALESCE(opened_at, $1) WHERE id = $2"
        " RETURNING deep_link",
        [clock.now(), delivery_id],
    )
    if found is None:
        return False, None
    return True, target(found["deep_link"])


def target(deep_link: str | None) -> str | None:
    if deep_link and deep_link.startswith(("https://", "http://")):
        return deep_link
    if _config.target_url:
        return _config.target_url.replace("{deepLink}", quote(deep_link or "", safe="/"))
    return None
