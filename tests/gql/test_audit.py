"""The audit trail (core/audit.py, gql/audit.py): every admin mutation is recorded with who,
when, what (secrets redacted) and its outcome, and admins read it with `auditLog`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from graphql import GraphQLObjectType

from core import audit, clock
from core.models import AuditEntry
from core.security import Role, create_api_key
from gql.schema import build_schema
from rewards.ledger import budget
from tests.conftest import ADMIN_KEY, INTEGRATION_KEY, Api

LOG = """query($first: Int, $after: String) { auditLog(first: $first, after: $after) {
  edges { cursor node { id at actor operation arguments outcome errorCodes } }
  pageInfo { hasNextPage endCursor } } }"""
PROGRAM = "mutation($i: ProgramInput!) { updateProgram(input: $i) { errors { code field } } }"
TIER = "mutation($i: TierInput!) { upsertTier(input: $i) { errors { code } } }"


async def entries(api: Api, first: int = 50) -> list[dict]:
    data = await api.admin(LOG, {"first": first})
    return [edge["node"] for edge in data["auditLog"]["edges"]]


async def test_an_admin_mutation_is_recorded_with_who_when_what_and_ok(api: Api) -> None:
    # given an admin, at 08:30 on 1 July
    clock.freeze(datetime(2026, 7, 1, 8, 30, tzinfo=UTC))
    # when they change the program
    await api.admin(PROGRAM, {"i": {"name": "Cà Phê Rewards", "welcomePoints": 50}})
    # then the trail holds who, when, what and how it went
    [entry] = await entries(api)
    assert entry["actor"] == "bootstrap admin key"
    assert entry["at"] == "2026-07-01T08:30:00+00:00"
    assert entry["operation"] == "updateProgram"
    # and the arguments as the mutation received them (defaults filled in)
    given = {k: v for k, v in entry["arguments"]["input"].items() if v is not None}
    assert given == {"name": "Cà Phê Rewards", "welcomePoints": 50}
    assert (entry["outcome"], entry["errorCodes"]) == ("ok", [])


async def test_a_stored_admin_key_is_named_by_id_and_prefix_never_the_key(api: Api) -> None:
    # given a stored admin key
    key = await create_api_key(Role.ADMIN, "ops")
    # when it changes the program
    await api(PROGRAM, {"i": {"welcomePoints": 10}}, token=key)
    # then the trail names the key by its id and prefix, never the key
    [entry] = await entries(api)
    row = await AuditEntry.get(id=int(entry["id"]))
    assert entry["actor"] == f"api key {row.key_id} ({key[:8]})"
    assert key not in str(entry)


async def test_refusals_are_recorded_with_their_codes(api: Api) -> None:
    # given bad input (refused at the boundary) and a domain refusal
    # when an admin sends them
    await api.admin(PROGRAM, {"i": {"pointValue": "NaN"}})
    await api.admin(TIER, {"i": {"code": "gold", "name": "Vàng", "threshold": -5}})
    # then both are recorded, as errors with their codes
    newest, oldest = await entries(api)
    assert (oldest["operation"], oldest["outcome"]) == ("updateProgram", "error")
    assert oldest["errorCodes"] == ["INVALID_INPUT"]
    assert (newest["operation"], newest["outcome"], newest["errorCodes"]) == (
        "upsertTier",
        "error",
        ["INVALID_INPUT"],
    )


async def test_other_callers_are_not_recorded(api: Api) -> None:
    # given the integration key
    # when it enrols a member
    await api.integration(
        'mutation { enrollMember(input: {externalId: "a-1", displayName: "An"}) '
        "{ errors { code } } }"
    )
    # then the trail holds nothing
    assert await entries(api) == []


async def test_admins_page_through_it_newest_first_and_only_admins_may(api: Api) -> None:
    # given five changes of the program
    for n in range(5):
        await api.admin(PROGRAM, {"i": {"welcomePoints": n}})
    # when an admin pages through the trail
    first = (await api.admin(LOG, {"first": 2}))["auditLog"]
    # then it is newest first, page after page
    welcome = [e["node"]["arguments"]["input"]["welcomePoints"] for e in first["edges"]]
    assert welcome == [4, 3] and first["pageInfo"]["hasNextPage"]
    rest = await api.admin(LOG, {"first": 10, "after": first["pageInfo"]["endCursor"]})
    assert [
        e["node"]["arguments"]["input"]["welcomePoints"] for e in rest["auditLog"]["edges"]
    ] == [
        2,
        1,
        0,
    ]
    # and the integration key may not read it
    refused = await api.raw(LOG, token=INTEGRATION_KEY)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_secrets_are_redacted_and_long_values_cut() -> None:
    # given arguments with secrets, a long value and a NUL
    # when they are redacted for the trail
    stored = audit.redact(
        {
            "input": {"clientSeed": "s3cr3t", "apiKey": "k", "serverSecret": "x", "name": "ok"},
            "token": "eyJ...",
            "comment": "y" * 1000,
            "nul": "a\x00b",
        }
    )
    # then the secrets are hidden, the long value cut, the NUL replaced
    assert stored["input"] == {
        "clientSeed": audit.REDACTED,
        "apiKey": audit.REDACTED,
        "serverSecret": audit.REDACTED,
        "name": "ok",
    }
    assert stored["token"] == audit.REDACTED
    assert len(stored["comment"]) < 220 and stored["comment"].startswith("y" * 200)
    assert stored["nul"] == "a\ufffdb"


async def test_the_entry_is_written_before_the_mutation_runs(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a program change that dies half-way (as a crash would), looking at the trail
    seen: list[tuple[str, str]] = []

    async def dies(*_: Any) -> None:
        seen.extend((e.operation, e.outcome) for e in await AuditEntry.all())
        raise RuntimeError("process died")

    monkeypatch.setattr(budget, "update_program_and_budget", dies)
    # when an admin sends it
    body = await api.raw(PROGRAM, {"i": {"welcomePoints": 5}}, token=ADMIN_KEY)
    assert body.get("errors"), body
    # then its entry existed before it ran, and says how it ended
    assert seen == [("updateProgram", "pending")]
    [entry] = await entries(api)
    assert (entry["outcome"], entry["errorCodes"]) == ("error", ["INTERNAL"])


def test_every_mutation_of_the_served_schema_is_audited() -> None:
    # given the served schema
    built = build_schema()
    # when its mutations are listed
    mutation = built._schema.mutation_type
    assert isinstance(mutation, GraphQLObjectType)
    # then every one is audited
    for name, field in mutation.fields.items():
        assert getattr(field.resolve, "__loyalty_audited__", False), name
