"""A websocket lives no longer than its credential (server/sockets.py): it closes with 4403
when its member token expires, when `{"type": "Revoked"}` is published on the member's
channel (what member care's eraseMember publishes), and when its API key is revoked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core import clock, pubsub, security
from core.models import ApiKey
from core.security import Role, create_api_key, revoke_api_key
from core.settings import Settings
from tests import factories
from tests.conftest import Api
from tests.server.live import Live, closed_with, live_server, socket, subscribe
from tests.server.processes import loyalty

MEMBER_EVENTS = "subscription { memberEvents { __typename } }"


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[Live]:
    async with live_server(settings) as served:
        yield served


async def until_closed(ws: Any, channel: str, within: float = 5.0) -> int | None:
    """Publish Revoked on `channel` every 0.2 s (the watcher subscribes just after the
    ack) until the socket closes; its close code."""

    async def publish() -> None:
        while True:
            await pubsub.publish(channel, {"type": "Revoked"})
            await asyncio.sleep(0.2)

    publisher = asyncio.create_task(publish())
    try:
        return await closed_with(ws, within)
    finally:
        publisher.cancel()


async def test_a_socket_closes_when_its_member_token_expires(
    live: Live, settings: Settings
) -> None:
    # given a member socket whose token expires in about two seconds
    member = await factories.member()
    token = factories.token_for(member, settings, ttl=timedelta(seconds=3))
    async with socket(live, token) as ws:
        await subscribe(ws, MEMBER_EVENTS)
        # when the socket waits, first within the token's life, then past it
        # then it stays open while the token is valid
        assert await closed_with(ws, within=1.0) is None
        # and is closed with 4403 once it expires
        assert await closed_with(ws, within=5.0) == 4403


async def test_revoked_closes_every_socket_of_that_member_and_no_other(
    live: Live, settings: Settings
) -> None:
    # given two sockets of Lan and one of Minh, all subscribed
    lan = await factories.member(external_id="lan")
    minh = await factories.member(external_id="minh")
    async with (
        socket(live, factories.token_for(lan, settings)) as phone,
        socket(live, factories.token_for(lan, settings)) as tablet,
        socket(live, factories.token_for(minh, settings)) as other,
    ):
        for ws in (phone, tablet, other):
            await subscribe(ws, MEMBER_EVENTS)
        # when Lan's revocation is published (as eraseMember does after its commit)
        closed = await asyncio.gather(
            until_closed(phone, f"member:{lan.id}"), until_closed(tablet, f"member:{lan.id}")
        )
        # then both of Lan's sockets close with 4403, and Minh's stays open
        assert closed == [4403, 4403]
        assert await closed_with(other, within=0.5) is None


async def test_revoking_a_stored_key_closes_its_sockets_and_ends_it_within_the_cache(
    live: Live, api: Api
) -> None:
    # given a stored admin key in use over HTTP (now cached) and over a socket
    key = await create_api_key(Role.ADMIN, "ops laptop")
    assert (await api("{ viewerRole }", token=key))["viewerRole"] == "ADMIN"
    async with socket(live, key) as ws:
        await asyncio.sleep(0.3)  # the watcher subscribes to the key's channel
        # when it is revoked
        await revoke_api_key(key[:8])
        # then its socket closes at once
        assert await closed_with(ws, within=5.0) == 4403
    # and HTTP requests are refused once the cache entry expires
    clock.advance(timedelta(seconds=security.KEY_CACHE_SECONDS + 1))
    body = await api.raw("{ viewerRole }", token=key)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_key_revoked_behind_our_back_closes_its_sockets_at_the_next_check(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a stored integration key, cached for half a second, with an open socket
    monkeypatch.setattr(security, "KEY_CACHE_SECONDS", 0.5)
    key = await create_api_key(Role.INTEGRATION, "pos")
    async with socket(live, key) as ws:
        # when the row is revoked without announcing it
        await ApiKey.filter(prefix=key[:8]).update(revoked_at=clock.now())
        # then the periodic re-check closes the socket
        assert await closed_with(ws, within=5.0) == 4403


async def test_bootstrap_key_sockets_stay_open(live: Live) -> None:
    from tests.conftest import ADMIN_KEY

    # given a socket of a bootstrap key, which cannot be revoked
    async with socket(live, ADMIN_KEY) as ws:
        # when a second passes
        # then it stays open
        assert await closed_with(ws, within=1.0) is None


async def test_the_revoke_api_key_command_closes_sockets_served_by_another_process(
    live: Live, settings: Settings, tmp_path: Path
) -> None:
    # given a key with an open socket on this process
    key = await create_api_key(Role.ADMIN, "to revoke")
    async with socket(live, key) as ws:
        await asyncio.sleep(0.3)
        # when `loyalty revoke-api-key` runs as its own process on the same services
        env = {
            "LOYALTY_DATA_DIR": str(tmp_path),
            "LOYALTY_DATABASE_URL": settings.database_url,
            "LOYALTY_REDIS_URL": settings.redis_url,
            "LOYALTY_REDIS_PREFIX": settings.redis_prefix,
            "LOYALTY_SECRET_KEY": settings.secret_key or "",
            "LOYALTY_ADMIN_KEY": settings.admin_key or "",
            "LOYALTY_INTEGRATION_KEY": settings.integration_key or "",
        }
        done = await asyncio.to_thread(
            loyalty, "revoke-api-key", "--prefix", key[:8], env=env, cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr
        assert "revoked api key" in done.stdout
        # then the socket here closes, and the row is revoked
        assert await closed_with(ws, within=5.0) == 4403
    assert (await ApiKey.get(prefix=key[:8])).revoked_at is not None
    # and an unknown prefix is an error, not a traceback
    missing = await asyncio.to_thread(
        loyalty, "revoke-api-key", "--prefix", "adm_none", env=env, cwd=tmp_path
    )
    assert missing.returncode == 1 and "no active API key" in missing.stderr
    assert "Traceback" not in missing.stderr


DEEP = "[" * 5000 + "]" * 5000
SUBSCRIBE = '{"id": "1", "type": "subscribe", "payload": {"query": "{ viewerRole }"'


@pytest.mark.parametrize(
    "message",
    [
        "42",
        "null",
        '"connection_init"',
        "[]",
        SUBSCRIBE + ', "variables": {"v": ' + DEEP + "}}}",
        SUBSCRIBE + ', "variables": {"v": ' + "[" * 33 + "]" * 33 + "}}}",
    ],
    ids=["number", "null", "string", "list", "5000-deep", "33-deep"],
)
async def test_a_socket_message_that_is_not_a_bounded_json_object_closes_it_with_4400(
    live: Live, message: str
) -> None:
    from tests.conftest import ADMIN_KEY

    # given a socket of a bootstrap key
    async with socket(live, ADMIN_KEY) as ws:
        # when it is sent a message that is not one JSON object of a bounded depth
        await ws.send(message)
        # then it is closed with 4400
        assert await closed_with(ws, within=5.0) == 4400
