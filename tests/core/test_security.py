"""Credentials: bootstrap keys, stored keys (hashed), member tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core import clock
from core.errors import Unauthenticated
from core.models import ApiKey
from core.security import Role, authenticate, create_api_key, hash_key, issue_member_token
from core.settings import Settings
from tests.conftest import ADMIN_KEY, INTEGRATION_KEY


async def test_bootstrap_keys_and_anonymous(settings: Settings) -> None:
    """Given the bootstrap keys, when each (or none) is presented, then it has its role."""
    assert (await authenticate(f"Bearer {ADMIN_KEY}", settings)).role is Role.ADMIN
    assert (await authenticate(f"bearer {INTEGRATION_KEY}", settings)).role is Role.INTEGRATION
    assert (await authenticate(None, settings)).role is None


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer    ", "Token x", ADMIN_KEY])
async def test_malformed_authorization_is_refused(settings: Settings, header: str) -> None:
    """Given an Authorization header that is not "Bearer <credential>", when it is presented,
    then it is refused."""
    with pytest.raises(Unauthenticated):
        await authenticate(header, settings)


async def test_created_keys_are_stored_hashed_and_authenticate(settings: Settings) -> None:
    # given an integration key created with a label
    key = await create_api_key(Role.INTEGRATION, "pos")
    # when its row is read
    row = await ApiKey.get(key_hash=hash_key(key))
    # then it holds the hash, never the key, and the key authenticates as INTEGRATION
    assert row.role == "INTEGRATION" and row.label == "pos"
    assert key not in {row.key_hash, row.prefix, row.label}
    assert (await authenticate(f"Bearer {key}", settings)).role is Role.INTEGRATION
    # and a key for members cannot be created
    with pytest.raises(ValueError):
        await create_api_key(Role.MEMBER)


async def test_revoked_key_is_refused_once_the_cache_expires(settings: Settings) -> None:
    # given an admin key, revoked
    key = await create_api_key(Role.ADMIN)
    await ApiKey.filter(key_hash=hash_key(key)).update(revoked_at=clock.now())
    from core import security

    # when the cached keys expire and it is presented
    security._key_cache.clear()
    # then it is refused
    with pytest.raises(Unauthenticated):
        await authenticate(f"Bearer {key}", settings)


async def test_member_tokens_carry_the_member_and_expire(settings: Settings) -> None:
    # given a member token issued for 5 minutes
    clock.freeze(datetime(2026, 5, 1, tzinfo=UTC))
    token, expires = issue_member_token(42, timedelta(minutes=5), settings)
    # then it expires 5 minutes later
    assert expires == datetime(2026, 5, 1, 0, 5, tzinfo=UTC)
    # when it is presented
    viewer = await authenticate(f"Bearer {token}", settings)
    # then it is the member's
    assert (viewer.role, viewer.member_id) == (Role.MEMBER, 42)
    # and when the 5 minutes are over, it is refused
    clock.advance(timedelta(minutes=5))
    with pytest.raises(Unauthenticated):
        await authenticate(f"Bearer {token}", settings)


async def test_a_token_signed_with_another_secret_is_refused(settings: Settings) -> None:
    # given a member token signed with another secret
    other = settings.model_copy(update={"secret_key": "another-secret-0123456789abcdef-xyz"})
    token, _ = issue_member_token(7, timedelta(hours=1), other)
    # when it is presented
    # then it is refused
    with pytest.raises(Unauthenticated):
        await authenticate(f"Bearer {token}", settings)


async def test_a_token_verified_once_is_refused_under_another_secret(settings: Settings) -> None:
    # given a token accepted (and remembered) under the secret that signed it
    token, _ = issue_member_token(7, timedelta(hours=1), settings)
    assert (await authenticate(f"Bearer {token}", settings)).member_id == 7
    # when the secret is rotated
    rotated = settings.model_copy(update={"secret_key": "another-secret-0123456789abcdef-xyz"})
    # then the same token is checked again, and refused
    with pytest.raises(Unauthenticated):
        await authenticate(f"Bearer {token}", rotated)
