"""The foundation end to end on the real server: enrol, token, `me`, sockets, and a live
event raised on one process reaching a socket held by another."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx
import websockets

from core.settings import Settings
from tests.acceptance.conftest import Server, next_message, socket_for, subscribe
from tests.conftest import ADMIN_KEY, INTEGRATION_KEY

ENROL = """mutation($i: EnrollMemberInput!) { enrollMember(input: $i) {
  member { id } errors { code } } }"""
TOKEN = """mutation($e: String!) { issueMemberToken(memberExternalId: $e) { token } }"""
EVENTS = """subscription { memberEvents { __typename
  ... on PointsChanged { balance delta reason at } } }"""
ADJUST = (
    """mutation($i: AdjustPointsInput!) { adjustPoints(input: $i) { errors { code message } } }"""
)


async def enrol_with_token(server: Server, external_id: str) -> tuple[str, str]:
    data = await server.data(
        ENROL, {"i": {"externalId": external_id, "displayName": "Phạm Minh"}}, token=INTEGRATION_KEY
    )
    token = await server.data(TOKEN, {"e": external_id}, token=INTEGRATION_KEY)
    return data["enrollMember"]["member"]["id"], token["issueMemberToken"]["token"]


async def close_code(ws: Any) -> int | None:
    """Wait for the server to close the socket; its close code (fails if it stays open)."""
    try:
        message = await asyncio.wait_for(ws.recv(), 5)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    raise AssertionError(f"socket stayed open and sent {message}")


async def test_integration_key_enrols_and_token_answers_me(server: Server) -> None:
    # given a member enrolled with the integration key, and a token issued for them
    member_id, token = await enrol_with_token(server, "acc-me-1")
    # when the token asks who it is
    me = await server.data("{ me { id externalId } viewerRole }", token=token)
    # then it is the member
    assert me == {"me": {"id": member_id, "externalId": "acc-me-1"}, "viewerRole": "MEMBER"}


async def test_graphiql_and_health_are_served(server: Server) -> None:
    # given the real server
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        # when GraphiQL and /health are asked for
        ide = await client.get("/graphql", headers={"Accept": "text/html"})
        health = await client.get("/health")
    # then both are served, and health reports both stores reachable
    assert ide.status_code == 200 and "graphiql" in ide.text.lower()
    assert health.json() == {"status": "ok", "database": True, "redis": True}


async def test_bad_socket_credential_is_closed_with_4403(server: Server) -> None:
    # given a socket with a credential that is not one
    async with websockets.connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        # when it initialises
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer nonsense"}})
        )
        # then it is closed with 4403
        assert await close_code(ws) == 4403


async def test_missing_socket_credential_is_closed_with_4403(server: Server) -> None:
    # given sockets without a credential, with an empty one, and without a payload
    for payload in ({}, {"authorization": ""}, None):
        async with websockets.connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:
            init: dict[str, Any] = {"type": "connection_init"}
            if payload is not None:
                init["payload"] = payload
            # when each initialises
            await ws.send(json.dumps(init))
            # then each is closed with 4403
            assert await close_code(ws) == 4403, payload


async def test_subscriptions_over_the_cap_are_refused(server: Server) -> None:
    # given a member's socket with as many subscriptions as a connection may hold
    _, token = await enrol_with_token(server, "acc-cap-1")
    cap = Settings().max_subscriptions_per_connection
    async with socket_for(server, token) as ws:
        for n in range(cap):
            await subscribe(ws, EVENTS, op_id=f"s{n}")
        # when one more is asked for
        await subscribe(ws, EVENTS, op_id="one-too-many")
        # then that one is refused with an error, and the socket stays usable
        refusal = await next_message(ws)
        assert refusal["id"] == "one-too-many" and refusal["type"] == "error"
        assert "limit" in refusal["payload"][0]["message"].lower()
        assert refusal["payload"][0]["extensions"]["code"] == "LIMIT_REACHED"
        await ws.send(json.dumps({"id": "s0", "type": "complete"}))
        await asyncio.sleep(0.3)
        await subscribe(ws, EVENTS, op_id="after-one-ended")
        with contextlib.suppress(TimeoutError):
            unexpected = await next_message(ws, wait=1.0)
            assert unexpected["type"] != "error", unexpected


async def test_200_aliases_are_refused_before_resolvers_run(server: Server) -> None:
    # given a query of 200 aliases
    query = "{ " + " ".join(f"a{i}: viewerRole" for i in range(200)) + " }"
    # when it is sent
    body = await server.gql(query, token=INTEGRATION_KEY)
    # then it is refused as INVALID_INPUT naming the aliases, with no data
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert "alias" in body["errors"][0]["message"].lower()


async def test_an_event_raised_on_one_process_reaches_a_socket_on_another(
    server: Server, second_server: Server
) -> None:
    # given two members, and Hoa's app subscribed on process B
    _, hoa_token = await enrol_with_token(server, "acc-live-hoa")
    await enrol_with_token(server, "acc-live-binh")

    async def raise_points_changed(external_id: str, points: int, n: int) -> None:
        """A write on process A: an admin adjusts the member's points."""
        body = await server.data(
            ADJUST,
            {
                "i": {
                    "memberExternalId": external_id,
                    "points": points,
                    "reason": "goodwill",
                    "idempotencyKey": f"live-{external_id}-{n}",
                }
            },
            token=ADMIN_KEY,
        )
        assert body["adjustPoints"]["errors"] == []

    async with socket_for(second_server, hoa_token) as ws:
        await subscribe(ws, EVENTS)
        # when points change on process A: Binh's first (not Hoa's business), then Hoa's;
        # retried until B's subscription is live, since subscribing has no acknowledgement
        points_changed: list[dict[str, Any]] = []
        for attempt in range(1, 11):
            await raise_points_changed("acc-live-binh", 777, attempt)
            await raise_points_changed("acc-live-hoa", 100, attempt)
            with contextlib.suppress(TimeoutError):
                while not points_changed:  # other event types may come along; skip them
                    received = await next_message(ws, wait=1.0)
                    assert received["type"] == "next", received
                    event = received["payload"]["data"]["memberEvents"]
                    if event["__typename"] == "PointsChanged":
                        points_changed.append(event)
            if points_changed:
                break
        # then Hoa's socket on B receives her own PointsChanged, and not Binh's
        assert points_changed, "no event reached process B"
        event = points_changed[0]
        assert event["delta"] == 100
        # her balance after one of her adjustments (a slow first one may arrive late)
        assert event["balance"] in {100 * k for k in range(1, attempt + 1)}
        assert event["reason"] == "ADJUSTMENT"


async def test_member_events_are_for_members_only(server: Server) -> None:
    # given a staff key's socket
    async with socket_for(server, INTEGRATION_KEY) as ws:
        # when it subscribes to member events
        await subscribe(ws, EVENTS, op_id="staff")
        refusal = await next_message(ws)
    # then that is FORBIDDEN
    assert refusal["id"] == "staff"
    errors = refusal["payload"] if refusal["type"] == "error" else refusal["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "FORBIDDEN", refusal


async def test_only_the_graphql_transport_ws_protocol_is_served(server: Server) -> None:
    # given a socket asking for the old graphql-ws protocol
    try:
        # when it connects
        async with websockets.connect(server.ws_url, subprotocols=["graphql-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            code = await close_code(ws)
    except websockets.ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd else None
    # then it is closed with 4406
    assert code == 4406, code  # "Subprotocol not acceptable"


async def test_a_socket_message_over_the_body_cap_closes_the_socket(server: Server) -> None:
    # given a member's socket
    _, token = await enrol_with_token(server, "acc-big-1")
    async with socket_for(server, token) as ws:
        # when a message over the body cap is sent on it
        padding = "x" * (Settings().max_body_bytes + 1)
        await subscribe(ws, EVENTS, variables={"pad": padding})
        # then the socket is closed with 1009 (message too big)
        assert await close_code(ws) == 1009  # message too big
