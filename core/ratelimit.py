"""Rate limits per credential: token buckets in Redis, taken with one Lua script.

Every caller identity (a member, a stored API key, a bootstrap key, or the address of an
anonymous caller) has a bucket of `burst` tokens refilled at `rate` per second; each
request takes one. Requests that include a costly or abusable operation (issueMemberToken,
spin, claimVoucher by default) also take one from a second, much smaller bucket. Both
buckets of an identity share one hash tag, `<prefix>:rl:{<identity hash>}:...`, so the
script touches a single Redis Cluster slot and takes from both buckets or from neither.
A refused request takes nothing and is told how long to wait.

Time comes from core.clock (tests advance it). If Redis fails, requests are let through
for a few seconds before trying again: like every other Redis use here, an outage must
not stop the API.

A caller refused for an empty bucket stays refused until a token has come back, whichever
process asks (all take from the same bucket): each process remembers that moment
(`refused_for`) and refuses the caller's further requests before parsing them and without
Redis (server/http_guard.py, before reading the body), so a flood costs the server as
little as possible; while nobody is refused that check costs nothing.

Configuration: LOYALTY_RATE_LIMIT_* variables (RateLimitSettings), read once.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from core import clock, redis
from core.errors import LimitReached

log = logging.getLogger(__name__)

Kind = Literal["member", "staff", "anonymous"]


class RateLimitSettings(BaseSettings):
    """Requests per second (sustained) and burst per caller; `strict_*` for the operations
    named in `strict_fields`. Staff keys serve a whole shop, so their limits are higher."""

    model_config = SettingsConfigDict(env_prefix="LOYALTY_RATE_LIMIT_", extra="ignore")

    enabled: bool = True
    member_rate: float = Field(default=10.0, gt=0)
    member_burst: int = Field(default=40, ge=1)
    staff_rate: float = Field(default=200.0, gt=0)
    staff_burst: int = Field(default=400, ge=1)
    # Per client address: anonymous callers, and look-ups of credentials not yet known.
    anonymous_rate: float = Field(default=5.0, gt=0)
    anonymous_burst: int = Field(default=20, ge=1)
    strict_member_rate: float = Field(default=0.5, gt=0)
    strict_member_burst: int = Field(default=10, ge=1)
    strict_staff_rate: float = Field(default=20.0, gt=0)
    strict_staff_burst: int = Field(default=100, ge=1)
    strict_fields: str = "issueMemberToken,spin,claimVoucher"

    @property
    def strict(self) -> frozenset[str]:
        return frozenset(f.strip() for f in self.strict_fields.split(",") if f.strip())

    def bucket(self, kind: Kind) -> tuple[float, int]:
        if kind == "member":
            return self.member_rate, self.member_burst
        if kind == "staff":
            return self.staff_rate, self.staff_burst
        return self.anonymous_rate, self.anonymous_burst

    def strict_bucket(self, kind: Kind) -> tuple[float, int]:
        if kind == "staff":
            return self.strict_staff_rate, self.strict_staff_burst
        return self.strict_member_rate, self.strict_member_burst


_settings: RateLimitSettings | None = None


def configure(settings: RateLimitSettings | None) -> None:
    """Use these limits (None: read LOYALTY_RATE_LIMIT_* again on next use)."""
    global _settings
    _settings = settings


def limits() -> RateLimitSettings:
    global _settings
    if _settings is None:
        _settings = RateLimitSettings()
    return _settings


class RateLimited(LimitReached):
    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(f"rate limit reached: retry in {retry_seconds(retry_after)} s")


def retry_seconds(retry_after: float) -> int:
    """Retry-After is whole seconds; never 0, or a client would retry at once."""
    return max(1, math.ceil(retry_after))


# KEYS: one bucket or two (same hash tag). ARGV: now (ms), then rate (tokens/s) and
# burst for each key. Takes one token from every bucket, or none when one is empty.
_TAKE = """
local now = tonumber(ARGV[1])
local wait = 0
local left = {}
for i = 1, #KEYS do
  local rate = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', KEYS[i], 't', 'at')
  local tokens = tonumber(state[1]) or burst
  local at = tonumber(state[2]) or now
  if now > at then
    tokens = math.min(burst, tokens + (now - at) * rate / 1000)
  end
  if tokens < 1 then
    wait = math.max(wait, (1 - tokens) * 1000 / rate)
  end
  left[i] = tokens
end
if wait > 0 then
  return math.ceil(wait)
end
for i = 1, #KEYS do
  local rate = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  redis.call('HSET', KEYS[i], 't', tostring(left[i] - 1), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[i], math.ceil(burst * 1000 / rate) + 1000)
end
return 0
"""

_script: Any = None
_script_client: Any = None
_paused_until = 0.0
_PAUSE_SECONDS = 5.0


def _take_script() -> Any:
    global _script, _script_client
    client = redis.client()
    if _script is None or _script_client is not client:
        _script = client.register_script(_TAKE)
        _script_client = client
    return _script


def bucket_key(identity: str, bucket: str) -> str:
    digest = hashlib.sha256(identity.encode()).hexdigest()[:24]
    return redis.key("rl", "{" + digest + "}", bucket)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float = 0.0


ALLOWED = Decision(True)


# identity -> when (unix seconds) its general bucket has a token again; bounded.
_refused: dict[str, float] = {}
REFUSED_MEMO_SIZE = 10_000


def anyone_refused() -> bool:
    return bool(_refused)


def refused_for(identity: str) -> float | None:
    """Seconds until `identity` may be served again, if it is known to be refused now."""
    until = _refused.get(identity)
    if until is None:
        return None
    left = until - clock.now().timestamp()
    if left <= 0:
        _refused.pop(identity, None)
        return None
    return left


def _remember_refusal(identity: str, retry_after: float) -> None:
    now = clock.now().timestamp()
    if len(_refused) >= REFUSED_MEMO_SIZE:
        for key in [k for k, until in _refused.items() if until <= now]:
            del _refused[key]
        if len(_refused) >= REFUSED_MEMO_SIZE:
            return
    _refused[identity] = now + retry_after


def forget_refusals() -> None:
    _refused.clear()


async def take(identity: str, kind: Kind, *, strict: bool = False) -> Decision:
    """Take one request from `identity`'s bucket (and its strict bucket when `strict`)."""
    global _paused_until
    settings = limits()
    if not settings.enabled or time.monotonic() < _paused_until:
        return ALLOWED
    rate, burst = settings.bucket(kind)
    keys = [bucket_key(identity, "req")]
    args: list[Any] = [int(clock.now().timestamp() * 1000), rate, burst]
    if strict:
        strict_rate, strict_burst = settings.strict_bucket(kind)
        keys.append(bucket_key(identity, "strict"))
        args += [strict_rate, strict_burst]
    try:
        wait_ms = int(await _take_script()(keys=keys, args=args))
    except Exception:
        _paused_until = time.monotonic() + _PAUSE_SECONDS
        log.warning(
            "rate limit check failed; not limiting for %.0f s", _PAUSE_SECONDS, exc_info=True
        )
        return ALLOWED
    if wait_ms <= 0:
        return ALLOWED
    if not strict:  # then the general bucket is the empty one: nothing passes until then
        _remember_refusal(identity, wait_ms / 1000)
    return Decision(False, wait_ms / 1000)


async def require(identity: str, kind: Kind, *, strict: bool = False) -> None:
    """take(), raising RateLimited when refused."""
    decision = await take(identity, kind, strict=strict)
    if not decision.allowed:
        raise RateLimited(decision.retry_after)
