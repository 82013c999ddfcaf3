"""Who is calling: API keys (admin, integration) and signed member tokens.

Bootstrap keys come from settings; further keys live hashed in api_key. Member tokens are
HS256 JWTs signed with the secret key whose `sub` is the member id.

Stored keys that were found are kept in a small LRU (KEY_CACHE_SIZE entries, each for
KEY_CACHE_SECONDS), so a revoked key stops working within that time on every process.
Unknown credentials are never cached: each one costs a query, which is why the caller
passes a `lookup_allowed` check (the rate limit of the caller's address) that runs first.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

import jwt

from core import clock, definitions, ids, pubsub
from core.errors import NotFound, Unauthenticated
from core.models import ApiKey
from core.settings import Settings


class Role(Enum):
    ADMIN = "ADMIN"
    INTEGRATION = "INTEGRATION"
    MEMBER = "MEMBER"


BOOTSTRAP_ADMIN = "bootstrap admin key"
BOOTSTRAP_INTEGRATION = "bootstrap integration key"


@dataclass(frozen=True)
class Viewer:
    role: Role | None = None
    member_id: int | None = None
    # A stored API key: its row id and printed prefix (never the key itself).
    key_id: int | None = None
    key_prefix: str | None = None
    # A member token's expiry (unix seconds): sockets opened with it close then.
    expires_at: float | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.ADMIN, Role.INTEGRATION)

    @property
    def who(self) -> str:
        """The credential in words, for the audit trail and logs."""
        if self.key_id is not None:
            return f"api key {self.key_id} ({self.key_prefix})"
        if self.role is Role.ADMIN:
            return BOOTSTRAP_ADMIN
        if self.role is Role.INTEGRATION:
            return BOOTSTRAP_INTEGRATION
        if self.role is Role.MEMBER:
            return f"member {self.member_id}"
        return "anonymous"

    @property
    def identity(self) -> str | None:
        """What rate limits count against: the member, the stored key or the bootstrap key
        (None when anonymous: the caller's address counts instead)."""
        if self.role is Role.MEMBER:
            return f"member:{self.member_id}"
        if self.key_id is not None:
            return f"key:{self.key_id}"
        if self.role is not None:
            return f"bootstrap:{self.role.value}"
        return None


ANONYMOUS = Viewer()

KEY_CACHE_SECONDS = 30.0
KEY_CACHE_SIZE = 1024


@dataclass(frozen=True)
class _Cached:
    expires: datetime
    viewer: Viewer


# digest -> a stored key that exists and is not revoked. Found keys only, least recently
# used first; unknown credentials never enter, so a flood of them cannot grow it.
_key_cache: OrderedDict[str, _Cached] = OrderedDict()

LookupCheck = Callable[[], Awaitable[None]]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, credential = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthenticated("Authorization must be 'Bearer <credential>'")
    return credential.strip()


async def authenticate(
    header: str | None, settings: Settings, lookup_allowed: LookupCheck | None = None
) -> Viewer:
    """The viewer for an Authorization header; a present but bad credential is refused.

    `lookup_allowed` runs before a credential that is not cached is looked up in the
    database, and may raise (a rate limit) to refuse the lookup.
    """
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
        member_id, expires_at = verify_member_token(credential, settings)
        # Erased members are in the definitions snapshot: no query per request.
        if member_id in (await definitions.get()).parts.get("erased_members", ()):
            raise Unauthenticated("this member no longer exists")
        return Viewer(role=Role.MEMBER, member_id=member_id, expires_at=expires_at)
    if len(credential) > 200:  # no key is that long: refuse without hashing or a query
        raise Unauthenticated("unknown or revoked credential")
    stored = await _stored_key(credential, lookup_allowed)
    if stored is None:
        raise Unauthenticated("unknown or revoked credential")
    return stored


def identity_without_lookup(header: str | None, settings: Settings) -> str | None:
    """The rate-limit identity (Viewer.identity) of a credential known without the database:
    a bootstrap key, a valid member token or a cached stored key; None otherwise."""
    try:
        credential = parse_bearer(header)
        if credential is None:
            return None
        for role, key in (
            (Role.ADMIN, settings.admin_key),
            (Role.INTEGRATION, settings.integration_key),
        ):
            if key and hmac.compare_digest(credential.encode(), key.encode()):
                return Viewer(role=role).identity
        if credential.count(".") == 2:
            return f"member:{verify_member_token(credential, settings)[0]}"
    except Unauthenticated:
        return None
    cached = _key_cache.get(hash_key(credential)) if len(credential) <= 200 else None
    return cached.viewer.identity if cached and cached.expires > clock.now() else None


async def _stored_key(credential: str, lookup_allowed: LookupCheck | None) -> Viewer | None:
    digest = hash_key(credential)
    now = clock.now()
    cached = _key_cache.get(digest)
    if cached is not None:
        if cached.expires > now:
            _key_cache.move_to_end(digest)
            return cached.viewer
        del _key_cache[digest]
    if lookup_allowed is not None:
        await lookup_allowed()
    row = await ApiKey.filter(key_hash=digest, revoked_at__isnull=True).first()
    if row is None:
        return None
    viewer = Viewer(role=Role(row.role), key_id=row.id, key_prefix=row.prefix)
    _key_cache[digest] = _Cached(now + timedelta(seconds=KEY_CACHE_SECONDS), viewer)
    while len(_key_cache) > KEY_CACHE_SIZE:
        _key_cache.popitem(last=False)
    return viewer


def forget_cached_keys() -> None:
    _key_cache.clear()


async def key_is_active(key_id: int) -> bool:
    return await ApiKey.filter(id=key_id, revoked_at__isnull=True).exists()


def key_channel(key_id: int) -> str:
    """The pub/sub channel on which a stored key's revocation is announced."""
    return f"api_key:{key_id}"


REVOKED = {"type": "Revoked"}


async def create_api_key(role: Role, label: str = "") -> str:
    """Store a new key hashed and return it: the only time it is seen."""
    if role is Role.MEMBER:
        raise ValueError("API keys are for admin or integration callers")
    key = f"{role.value[:3].lower()}_{ids.token(24)}"
    await ApiKey.create(
        role=role.value, key_hash=hash_key(key), prefix=key[:8], label=label, created_at=clock.now()
    )
    return key


async def revoke_api_key(prefix: str, key_id: int | None = None) -> ApiKey:
    """Revoke the one active key with this prefix (or this id among them), then announce
    it so every process closes the key's sockets at once; HTTP requests with it are refused
    once the process's key cache entry expires (KEY_CACHE_SECONDS)."""
    query = ApiKey.filter(prefix=prefix, revoked_at__isnull=True)
    if key_id is not None:
        query = query.filter(id=key_id)
    rows = await query.order_by("id")
    if not rows:
        raise NotFound(f"no active API key with prefix {prefix[:12]!r}", "prefix")
    if len(rows) > 1:
        listed = ", ".join(f"{r.id} ({r.label or 'no label'})" for r in rows)
        raise NotFound(f"several active keys share this prefix: {listed}; give --id", "id")
    row = rows[0]
    row.revoked_at = clock.now()
    await row.save(update_fields=["revoked_at"])
    await pubsub.publish(key_channel(row.id), REVOKED)
    return row


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


# Tokens whose signature and claims were checked, by (secret, token): a member's app sends
# the same token with every request, and HS256 verification is most of authenticating it.
# Only what the signature proves is kept; expiry and erasure are checked on every use.
_verified: dict[tuple[str, str], tuple[int, float]] = {}
_VERIFIED_MAX = 20_000


def verify_member_token(token: str, settings: Settings) -> tuple[int, float]:
    """The member id and expiry (unix seconds) of a valid member token."""
    assert settings.secret_key, "secret key is set at startup"
    known = _verified.get((settings.secret_key, token))
    if known is not None:
        if known[1] <= clock.now().timestamp():
            raise Unauthenticated("member token expired or not a member token")
        return known
    member_id, expires_at = _verify(token, settings.secret_key)
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()
    _verified[(settings.secret_key, token)] = (member_id, expires_at)
    return member_id, expires_at


def _verify(token: str, secret_key: str) -> tuple[int, float]:
    try:
        claims = jwt.decode(
            token,
            secret_key,
            algorithms=["HS256"],
            # PyJWT compares exp and iat with the wall clock; expiry is checked with core.clock.
            options={"require": ["sub", "exp"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise Unauthenticated("invalid member token") from exc
    try:
        expires_at = float(claims["exp"])
        member_id = int(claims["sub"])
    except (TypeError, ValueError) as exc:
        raise Unauthenticated("invalid member token") from exc
    # core.clock, so frozen-clock tests and servers agree.
    if claims.get("typ") != "member" or expires_at <= clock.now().timestamp():
        raise Unauthenticated("member token expired or not a member token")
    if not 0 < member_id < 2**31:
        raise Unauthenticated("invalid member token")
    return member_id, expires_at
