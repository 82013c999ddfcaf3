"""Who is calling: API keys (admin, integration) and signed member tokens.

Bootstrap keys come from settings; further keys live hashed in api_key. Member tokens are
HS256 JWTs signed with the secret key whose `sub` is the member id.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

import jwt

from core import clock, ids
from core.errors import Unauthenticated
from core.models import ApiKey
from core.settings import Settings


class Role(Enum):
    ADMIN = "ADMIN"
    INTEGRATION = "INTEGRATION"
    MEMBER = "MEMBER"


@dataclass(frozen=True)
class Viewer:
    role: Role | None = None
    member_id: int | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.ADMIN, Role.INTEGRATION)


ANONYMOUS = Viewer()
_KEY_CACHE_SECONDS = 30.0
_key_cache: dict[str, tuple[float, Role | None]] = {}


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, credential = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthenticated("Authorization must be 'Bearer <credential>'")
    return credential.strip()


async def authenticate(header: str | None, settings: Settings) -> Viewer:
    """The viewer for an Authorization header; a present but bad credential is refused."""
    credential = parse_bearer(header)
    if credential is None:
        return ANONYMOUS
    for role, key in (
        (Role.ADMIN, settings.admin_key),
        (Role.INTEGRATION, settings.integration_key),
    ):
        if key and hmac.compare_digest(credential.encode(), key.encode()):
            return Viewer(role=role)
    if credential.count(".") == 2:
        return Viewer(role=Role.MEMBER, member_id=verify_member_token(credential, settings))
    stored = await _stored_key_role(credential)
    if stored is None:
        raise Unauthenticated("unknown or revoked credential")
    return Viewer(role=stored)


async def _stored_key_role(credential: str) -> Role | None:
    digest = hash_key(credential)
    cached = _key_cache.get(digest)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    row = await ApiKey.filter(key_hash=digest, revoked_at__isnull=True).first()
    found: Role | None = Role(row.role) if row else None
    _key_cache[digest] = (time.monotonic() + _KEY_CACHE_SECONDS, found)
    return found


async def create_api_key(role: Role, label: str = "") -> str:
    """Store a new key hashed and return it: the only time it is seen."""
    if role is Role.MEMBER:
        raise ValueError("API keys are for admin or integration callers")
    key = f"{role.value[:3].lower()}_{ids.token(24)}"
    await ApiKey.create(
        role=role.value, key_hash=hash_key(key), prefix=key[:8], label=label, created_at=clock.now()
    )
    return key


def issue_member_token(member_id: int, ttl: timedelta, settings: Settings) -> tuple[str, datetime]:
    issued = clock.now()
    expires = issued + ttl
    claims = {
        "sub": str(member_id),
        "typ": "member",
        "iat": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
    }
    assert settings.secret_key, "secret key is set at startup"
    return jwt.encode(claims, settings.secret_key, algorithm="HS256"), expires


def verify_member_token(token: str, settings: Settings) -> int:
    assert settings.secret_key, "secret key is set at startup"
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=["HS256"],
            # PyJWT compares exp and iat with the wall clock; expiry is checked with core.clock.
            options={"require": ["sub", "exp"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise Unauthenticated("invalid member token") from exc
    # core.clock, so frozen-clock tests and servers agree.
    if claims.get("typ") != "member" or int(claims["exp"]) <= clock.now().timestamp():
        raise Unauthenticated("member token expired or not a member token")
    try:
        return int(claims["sub"])
    except ValueError as exc:
        raise Unauthenticated("invalid member token") from exc
