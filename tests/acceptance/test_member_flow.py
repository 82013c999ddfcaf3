"""The foundation end to end: enrol, token, `me`, and a live event across processes."""

from __future__ import annotations

import asyncio
import json

import websockets

from tests.acceptance.conftest import Server
from tests.conftest import INTEGRATION_KEY

ENROL = """mutation($i: EnrollMemberInput!) { enrollMember(input: $i) {
  member { id } errors { code } } }"""
TOKEN = """mutation($e: String!) { issueMemberToken(memberExternalId: $e) { token } }"""


async def enrol_with_token(server: Server, external_id: str) -> tuple[str, str]:
    data = await server.data(
        ENROL, {"i": {"externalId": external_id, "displayName": "Phạm Minh"}}, token=INTEGRATION_KEY
    )
    token = await server.data(TOKEN, {"e": external_id}, token=INTEGRATION_KEY)
    return data["enrollMember"]["member"]["id"], token["issueMemberToken"]["token"]


async def test_integration_key_enrols_and_token_answers_me(server: Server) -> None:
    member_id, token = await enrol_with_token(server, "acc-me-1")
    me = await server.data("{ me { id externalId } }", token=token)
    assert me["me"] == {"id": member_id, "externalId": "acc-me-1"}


async def test_bad_socket_credential_is_closed_with_4403(server: Server) -> None:
    async with websockets.connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer nonsense"}})
        )
        try:
            await asyncio.wait_for(ws.recv(), 5)
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 4403
        else:
            raise AssertionError("socket stayed open")


async def test_200_aliases_are_refused_before_resolvers_run(server: Server) -> None:
    query = "{ " + " ".join(f"a{i}: viewerRole" for i in range(200)) + " }"
    body = await server.gql(query, token=INTEGRATION_KEY)
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert "alias" in body["errors"][0]["message"].lower()
