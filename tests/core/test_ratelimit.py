"""Rate limits per credential (core/ratelimit.py, gql/limits.py RateLimit): token buckets
in Redis, HTTP 429 with Retry-After and LIMIT_REACHED, stricter on issueMemberToken, spin
and claimVoucher, and unknown credentials that cannot flood the database."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from redis.crc import key_slot
from tortoise import connections

from core import clock, ratelimit, redis, security
from core.ratelimit import RateLimitSettings
from core.settings import Settings
from tests import factories
from tests.conftest import INTEGRATION_KEY, SUITE_RATE_LIMITS, Api

TIGHT = RateLimitSettings(
    member_rate=1.0,
    member_burst=5,
    staff_rate=2.0,
    staff_burst=10,
    anonymous_rate=1.0,
    anonymous_burst=3,
    strict_member_rate=0.1,
    strict_member_burst=2,
    strict_staff_rate=0.5,
    strict_staff_burst=3,
)
SPIN = 'mutation { spin(wheelId: "1", clientSeed: "s") { errors { code } } }'
TOKEN = "mutation($e: String!) { issueMemberToken(memberExternalId: $e) { token } }"


@pytest.fixture
def tight() -> Iterator[None]:
    clock.freeze(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
    ratelimit.configure(TIGHT)
    yield
    ratelimit.configure(SUITE_RATE_LIMITS)


async def post(http: httpx.AsyncClient, query: str, token: str | None = None, **variables: Any):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )


# -- the bucket --------------------------------------------------------------------------


async def test_a_bucket_gives_its_burst_then_refuses_until_it_refills(tight: None) -> None:
    # given a member's bucket of burst 5, refilling one a second (tight)
    # when it takes six
    taken = [await ratelimit.take("member:1", "member") for _ in range(6)]
    # then five pass and the sixth waits a second
    assert [d.allowed for d in taken] == [True] * 5 + [False]
    assert taken[-1].retry_after == pytest.approx(1.0, abs=0.01)
    # and when a second passes, one more passes and the next is refused
    clock.advance(timedelta(seconds=1))
    assert (await ratelimit.take("member:1", "member")).allowed
    assert not (await ratelimit.take("member:1", "member")).allowed
    # and a refusal took nothing: after 1 s there is exactly one again
    clock.advance(timedelta(seconds=1))
    assert (await ratelimit.take("member:1", "member")).allowed


async def test_each_identity_has_its_own_bucket(tight: None) -> None:
    # given one member who spent their burst of 5
    for _ in range(5):
        assert (await ratelimit.take("member:1", "member")).allowed
    # when they and another member ask again
    # then only the first is refused
    assert not (await ratelimit.take("member:1", "member")).allowed
    assert (await ratelimit.take("member:2", "member")).allowed


async def test_strict_operations_take_from_both_buckets_or_neither(tight: None) -> None:
    # given a strict bucket of burst 2 (tight)
    # when a member takes three strict requests
    assert (await ratelimit.take("member:1", "member", strict=True)).allowed
    assert (await ratelimit.take("member:1", "member", strict=True)).allowed
    # then the third is refused, to wait 10 s
    refused = await ratelimit.take("member:1", "member", strict=True)
    assert not refused.allowed and refused.retry_after == pytest.approx(10.0, abs=0.01)
    # and the general bucket lost only the two that passed: three more plain requests go through
    assert [(await ratelimit.take("member:1", "member")).allowed for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]


async def test_both_buckets_of_a_caller_hash_to_one_cluster_slot() -> None:
    # given a caller
    # when its general and strict bucket keys are made
    general = ratelimit.bucket_key("member:42", "req")
    strict = ratelimit.bucket_key("member:42", "strict")
    # then both carry the hashed identity as one hash tag, so they share a cluster slot
    assert general.startswith(redis.key("rl", "{")) and general.endswith("}:req")
    tag = general[general.index("{") + 1 : general.index("}")]
    assert tag == hashlib.sha256(b"member:42").hexdigest()[:24]  # identities are hashed
    assert key_slot(general.encode()) == key_slot(strict.encode())


async def test_limits_are_off_when_disabled(tight: None) -> None:
    # given rate limits disabled
    ratelimit.configure(TIGHT.model_copy(update={"enabled": False}))
    # when a member takes 50 at once
    # then each is allowed
    assert all([(await ratelimit.take("member:1", "member")).allowed for _ in range(50)])


def test_limits_come_from_loyalty_rate_limit_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    # given LOYALTY_RATE_LIMIT_* variables
    monkeypatch.setenv("LOYALTY_RATE_LIMIT_MEMBER_RATE", "3.5")
    monkeypatch.setenv("LOYALTY_RATE_LIMIT_STRICT_FIELDS", "spin, redeemVoucher")
    # when the settings are read
    read = RateLimitSettings()
    # then they come from them
    assert read.member_rate == 3.5 and read.strict == {"spin", "redeemVoucher"}


# -- through the API ---------------------------------------------------------------------


async def test_over_the_limit_is_429_with_retry_after_and_limit_reached(
    tight: None, http: httpx.AsyncClient, settings: Settings
) -> None:
    # given a member with a burst of 5 (tight)
    token = factories.token_for(await factories.member(), settings)
    # when they send six requests
    answers = [await post(http, "{ me { id } }", token) for _ in range(6)]
    # then the sixth is HTTP 429 with Retry-After, no data and LIMIT_REACHED
    assert [r.status_code for r in answers] == [200] * 5 + [429]
    refused = answers[-1]
    assert refused.headers["Retry-After"] == "1"
    body = refused.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "LIMIT_REACHED", "retryAfter": 1}


async def test_a_refused_caller_is_refused_again_without_redis_until_a_token_is_back(
    tight: None, http: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a member whose bucket ran dry (the sixth request was refused by Redis)
    token = factories.token_for(await factories.member(), settings)
    for _ in range(6):
        await post(http, "{ me { id } }", token)
    # when it keeps sending, Redis is not asked again
    calls = 0
    real = ratelimit._take_script

    def counted() -> Any:
        nonlocal calls
        calls += 1
        return real()

    monkeypatch.setattr(ratelimit, "_take_script", counted)
    again = [await post(http, "{ me { id } }", token) for _ in range(5)]
    assert calls == 0
    # then each is the same 429 with Retry-After and LIMIT_REACHED
    for response in again:
        assert response.status_code == 429 and response.headers["Retry-After"] == "1"
        assert response.json()["errors"][0]["extensions"] == {
            "code": "LIMIT_REACHED",
            "retryAfter": 1,
        }
    # and once a token is back it is served again
    clock.advance(timedelta(seconds=1))
    assert (await post(http, "{ me { id } }", token)).status_code == 200
    assert calls == 1


async def test_spin_is_stricter_than_reading(
    tight: None, http: httpx.AsyncClient, settings: Settings
) -> None:
    # given a member with a strict burst of 2 (tight)
    token = factories.token_for(await factories.member(), settings)
    # when they spin three times
    spins = [(await post(http, SPIN, token)).status_code for _ in range(3)]
    # then the third is refused
    assert spins == [200, 200, 429]
    # and the member can still read while spins wait
    assert (await post(http, "{ me { id } }", token)).status_code == 200


async def test_strict_fields_are_found_behind_aliases_and_fragments(
    tight: None, http: httpx.AsyncClient, settings: Settings
) -> None:
    # given a member, and a strict field behind an alias in a fragment
    token = factories.token_for(await factories.member(), settings)
    hidden = (
        "mutation { ...F } fragment F on Mutation { "
        'x: claimVoucher(offerId: "1") { errors { code } } }'
    )
    # when it is sent three times
    # then the third is refused like the field itself
    assert [(await post(http, hidden, token)).status_code for _ in range(3)] == [200, 200, 429]


async def test_issuing_member_tokens_is_limited_per_key(
    tight: None, http: httpx.AsyncClient
) -> None:
    # given a member, and the integration key's strict burst of 3 (tight)
    await factories.member(external_id="m-1")
    # when the key issues four tokens
    statuses = [(await post(http, TOKEN, INTEGRATION_KEY, e="m-1")).status_code for _ in range(4)]
    # then the fourth is refused
    assert statuses == [200, 200, 200, 429]


async def test_one_member_flooding_does_not_limit_another(
    tight: None, http: httpx.AsyncClient, settings: Settings
) -> None:
    # given two members
    flooder = factories.token_for(await factories.member(), settings)
    other = factories.token_for(await factories.member(), settings)
    # when one floods the API
    for _ in range(20):
        await post(http, "{ me { id } }", flooder)
    # then they are limited, the other is not
    assert (await post(http, "{ me { id } }", flooder)).status_code == 429
    assert (await post(http, "{ me { id } }", other)).status_code == 200


class _Queries:
    def __init__(self) -> None:
        self.count = 0


@pytest.fixture
def api_key_queries(monkeypatch: pytest.MonkeyPatch) -> _Queries:
    """Counts SELECTs on api_key (the real queries still run)."""
    counter = _Queries()
    client = connections.get("default")
    real = type(client).execute_query

    async def counting(self: Any, query: str, values: Any = None) -> Any:
        if "api_key" in query:
            counter.count += 1
        return await real(self, query, values)

    monkeypatch.setattr(type(client), "execute_query", counting)
    return counter


async def test_unknown_credentials_cost_one_query_each_until_the_address_is_limited(
    tight: None, http: httpx.AsyncClient, api_key_queries: _Queries
) -> None:
    # given a client trying random credentials (anonymous burst 3)
    # when it sends ten
    answers = [await post(http, "{ viewerRole }", f"guess-{n}") for n in range(10)]
    # then its address paid for each look-up: three were looked up, the rest refused
    codes = [r.json()["errors"][0]["extensions"]["code"] for r in answers]
    assert codes == ["UNAUTHENTICATED"] * 3 + ["LIMIT_REACHED"] * 7
    assert [r.status_code for r in answers][3:] == [429] * 7
    assert api_key_queries.count == 3
    # and none of them was kept in memory
    guessed = {security.hash_key(f"guess-{n}") for n in range(10)}
    assert guessed.isdisjoint(security._key_cache)


async def test_known_keys_are_cached_up_to_the_lru_bound(
    monkeypatch: pytest.MonkeyPatch, api: Api
) -> None:
    # given an LRU of three known keys
    monkeypatch.setattr(security, "KEY_CACHE_SIZE", 3)
    security.forget_cached_keys()
    # and five integration keys
    keys = [await security.create_api_key(security.Role.INTEGRATION, f"k{n}") for n in range(5)]
    # when each is used once
    for key in keys:
        assert (await api("{ viewerRole }", token=key))["viewerRole"] == "INTEGRATION"
    # then the last three are cached
    assert len(security._key_cache) == 3
    assert set(security._key_cache) == {security.hash_key(k) for k in keys[2:]}


async def test_redis_down_lets_requests_through(
    tight: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given Redis down
    class Broken:
        async def __call__(self, **_: Any) -> Any:
            raise ConnectionError("redis is down")

    monkeypatch.setattr(ratelimit, "_take_script", lambda: Broken())
    monkeypatch.setattr(ratelimit, "_paused_until", 0.0)
    # when a member takes from their bucket
    # then it is allowed
    assert (await ratelimit.take("member:1", "member")).allowed
