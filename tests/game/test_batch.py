"""trackActions: up to 100 actions a request, one result each, each idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core import clock
from core.errors import InvalidInput
from core.settings import Settings
from game import batch
from game.models import Action
from members.models import Member
from rewards.ledger import budget
from tests import factories
from tests.conftest import Api
from tests.game import factories as game
from tests.game.factories import BATCH, item

MORNING = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)


async def track_batch(api: Api, inputs: list[dict], token: str | None = None) -> list[dict]:
    data = await api(BATCH, {"i": inputs}, token=token or "test-integration-key")
    assert data["trackActions"]["errors"] == []
    return data["trackActions"]["results"]


def outcomes(results: list[dict]) -> list[Any]:
    """Points, 'dup' for a duplicate, or (code, field) for a refusal, per result."""
    return [
        (r["errors"][0]["code"], r["errors"][0]["field"])
        if r["errors"]
        else ("dup", r["pointsAwarded"])
        if r["duplicate"]
        else r["pointsAwarded"]
        for r in results
    ]


async def balance(api: Api, member: Member, settings: Settings) -> int:
    return int((await game.me(api, member, settings))["pointsBalance"])


async def test_each_item_gets_its_own_result_and_refusals_write_nothing(
    api: Api, settings: Settings
) -> None:
    clock.freeze(MORNING)
    # given an action type worth 10 points and two members
    await game.action_type(api, "review.posted", points=10)
    ann, bob = await factories.member(), await factories.member()
    ghost = Member(external_id="ghost")
    # when one batch mixes good items, refusals and repeats
    results = await track_batch(
        api,
        [
            item(ann, "k1"),
            item(bob, "k1"),
            item(ann, "k2", type_="nope.never"),
            item(ghost, "k3"),
            item(ann, "k1"),  # the same action again: a duplicate
            item(ann, "k1", value=5),  # the same key, other content
            item(bob, "k4", occurredAt=(MORNING + timedelta(hours=1)).isoformat()),
            item(None, "k5"),
            item(bob, "k6", value=-1),
            item(ann, "k7"),
        ],
    )
    # then each item has its own outcome, named by its index
    assert outcomes(results) == [
        10,
        10,
        ("NOT_FOUND", ["inputs", "2", "type"]),
        ("NOT_FOUND", ["inputs", "3", "memberExternalId"]),
        ("dup", 10),
        ("IDEMPOTENCY_CONFLICT", ["inputs", "5", "idempotencyKey"]),
        ("INVALID_INPUT", ["inputs", "6", "occurredAt"]),
        ("INVALID_INPUT", ["inputs", "7", "memberExternalId"]),
        ("INVALID_INPUT", ["inputs", "8", "value"]),
        10,
    ]
    # and only the accepted actions were written
    assert await Action.all().count() == 3
    assert await balance(api, ann, settings) == 20
    assert await balance(api, bob, settings) == 10


async def test_a_batch_sent_again_is_all_duplicates(api: Api, settings: Settings) -> None:
    # given a batch of actions of several members, recorded once
    await game.action_type(api, "review.posted", points=10)
    await game.mission(api, title="Two reviews", target=2, reward={"points": 50})
    members = [await factories.member() for _ in range(5)]
    inputs = [item(m, f"r{n}-{i}") for i in range(2) for n, m in enumerate(members)]
    first = await track_batch(api, inputs)
    assert outcomes(first) == [10] * 10
    # when the same batch is sent again
    again = await track_batch(api, inputs)
    # then every item is a duplicate answering the stored result, and nothing moved
    assert [r["duplicate"] for r in again] == [True] * 10
    assert [{**r, "duplicate": False} for r in again] == first
    assert await Action.all().count() == 10
    for m in members:
        assert await balance(api, m, settings) == 10 + 10 + 50


async def test_items_of_one_member_run_in_order_like_sequential_calls(
    api: Api, settings: Settings
) -> None:
    clock.freeze(MORNING)
    # given a daily cap of 2 and a mission of 3 reviews
    await game.action_type(api, "review.posted", points=10, dailyCap=2)
    await game.mission(api, title="Three reviews", target=3, reward={"points": 100})
    ann, bob = await factories.member(), await factories.member()
    # when one batch holds four actions of one member among others, and a repeat
    results = await track_batch(
        api,
        [
            item(ann, "a1"),
            item(bob, "b1"),
            item(ann, "a2"),
            item(ann, "a1"),
            item(ann, "a3"),
            item(ann, "a4"),
        ],
    )
    # then the cap and the mission count them in order, as separate calls would
    assert outcomes(results) == [10, 10, 10, ("dup", 10), 0, 0]
    progress = [[(m["progress"], m["completed"]) for m in r["missions"]] for r in results]
    assert progress == [[(1, False)], [(1, False)], [(2, False)], [(1, False)], [(3, True)], []]
    assert await balance(api, ann, settings) == 10 + 10 + 100
    assert await Action.all().count() == 5


async def test_more_than_100_items_are_refused_and_nothing_is_written(api: Api) -> None:
    # given an action type and a member
    await game.action_type(api, "review.posted", points=10)
    member = await factories.member()
    # when 101 actions are sent
    body = await api.raw(
        BATCH,
        {"i": [item(member, f"k{n}") for n in range(101)]},
        token="test-integration-key",
    )
    # then the request is refused before it runs (the limit of every list argument)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_INPUT"]
    assert "100 items" in body["errors"][0]["message"]
    assert await Action.all().count() == 0
    # and the domain function refuses them too, naming the inputs
    many = [batch.Reported("review.posted", f"k{n}", member.external_id) for n in range(101)]
    with pytest.raises(InvalidInput) as refused:
        await batch.report_many(many, caller_member_id=None)
    assert refused.value.field == ["inputs"]
    assert await Action.all().count() == 0


async def test_100_items_are_served(api: Api, settings: Settings) -> None:
    # given an action type worth 1 point and 50 members
    await game.action_type(api, "review.posted", points=1)
    members = [await factories.member() for _ in range(50)]
    # when 100 actions are reported in one batch
    results = await track_batch(api, [item(m, f"k{n}") for n in range(2) for m in members])
    # then each earns its point
    assert outcomes(results) == [1] * 100
    assert await balance(api, members[0], settings) == 2


async def test_a_member_reports_only_their_own_client_reportable_actions(
    api: Api, settings: Settings
) -> None:
    # given a member-reportable type and a server-verified one
    await game.action_type(api, "app.opened", points=1, clientReportable=True)
    await game.action_type(api, "review.posted", points=10)
    ann, bob = await factories.member(), await factories.member()
    token = factories.token_for(ann, settings)
    # when the member reports a batch with their own, someone else's and a verified type
    results = await track_batch(
        api,
        [
            item(None, "o1", type_="app.opened"),
            item(ann, "o2", type_="app.opened"),
            item(bob, "o3", type_="app.opened"),
            item(None, "o4"),
        ],
        token=token,
    )
    # then only their own reportable actions count
    assert outcomes(results) == [
        1,
        1,
        ("FORBIDDEN", ["inputs", "2", "memberExternalId"]),
        ("FORBIDDEN", ["inputs", "3", "type"]),
    ]
    assert await balance(api, ann, settings) == 2
    assert await balance(api, bob, settings) == 0
    assert await Action.all().count() == 2


async def test_without_a_credential_nothing_runs(api: Api) -> None:
    # given an action type and a member
    await game.action_type(api, "review.posted", points=10)
    member = await factories.member()
    # when a batch is sent without a credential
    body = await api.raw(BATCH, {"i": [item(member, "k1")]})
    # then it is UNAUTHENTICATED and nothing is written
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await Action.all().count() == 0


async def test_items_past_the_issuance_budget_are_refused_one_by_one(
    api: Api, settings: Settings
) -> None:
    # given a budget of 25 points left and actions worth 10
    await game.action_type(api, "review.posted", points=10)
    members = [await factories.member() for _ in range(4)]
    await budget.top_up(-(await budget.remaining() - 25))
    # when four members' actions come in one batch
    results = await track_batch(api, [item(m, f"b{n}") for n, m in enumerate(members)])
    # then those the budget covers are recorded, the others refused, nothing half-done
    assert sorted(map(str, outcomes(results))) == sorted(
        ["10", "10", "('BUDGET_EXHAUSTED', None)", "('BUDGET_EXHAUSTED', None)"]
    )
    assert await Action.all().count() == 2
    assert sum([await balance(api, m, settings) for m in members]) == 20


async def test_actions_of_several_types_in_one_batch(api: Api, settings: Settings) -> None:
    # given two types, only one of them with a mission and a stamp card
    await game.action_type(api, "review.posted", points=10)
    await game.action_type(api, "app.opened", points=1)
    await game.mission(api, title="Two reviews", target=2, reward={"points": 5})
    card = {"name": "Opens", "actionType": "app.opened", "slots": 2, "reward": {"points": 3}}
    created = await api.admin(
        "mutation($i: StampCardInput!) { createStampCard(input: $i) { errors { code } } }",
        {"i": card},
    )
    assert created["createStampCard"]["errors"] == []
    members = [await factories.member() for _ in range(4)]
    # when one batch mixes them, member by member
    inputs = [item(m, f"r-{n}") for n, m in enumerate(members[:2])]
    inputs += [item(m, f"o-{n}", type_="app.opened") for n, m in enumerate(members[2:])]
    first = await track_batch(api, inputs)
    second = await track_batch(
        api, [{**i, "idempotencyKey": i["idempotencyKey"] + "b"} for i in inputs]
    )
    # then each counts by its own type's rules
    assert outcomes(first) == [10, 10, 1, 1]
    assert [[m["progress"] for m in r["missions"]] for r in first] == [[1], [1], [], []]
    assert outcomes(second) == [10, 10, 1, 1]
    assert [await balance(api, m, settings) for m in members] == [25, 25, 5, 5]
