"""Domain errors name domain fields; gql/errors.py says them the API's way, in one place."""

from __future__ import annotations

from pathlib import Path

from gql.errors import api_path
from tests.conftest import Api

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ("core", "members", "rewards", "game", "engage")


def test_a_domain_field_is_its_camel_case_name_under_input() -> None:
    # given fields as the domain names them, raised by recordOrder(input: ...)
    raised = ["order_id"], ["amount"], ["segments", "2", "prize", "voucher_offer_id"]
    # when they are said the API's way
    paths = [api_path(field, "recordOrder", {"input"}) for field in raised]
    # then each part is in camelCase, under `input`, list indexes as they were
    assert paths == [
        ["input", "orderId"],
        ["input", "amount"],
        ["input", "segments", "2", "prize", "voucherOfferId"],
    ]


def test_a_field_that_is_an_argument_of_its_own_is_not_under_input() -> None:
    # given an operation whose fields are arguments of its own, and one that also takes input
    # when their fields are said the API's way
    token = api_path(["member_external_id"], "issueMemberToken", {"memberExternalId"})
    mission = api_path(["id"], "updateMission", {"id", "input"})
    # then they name the argument itself
    assert token == ["memberExternalId"]
    assert mission == ["id"]
    # and a top-level error (a query's, whose fields take no input) names an argument
    assert api_path(["card_code"]) == ["cardCode"]


def test_a_mutation_without_input_names_other_fields_under_input_as_it_always_has() -> None:
    # given spin(wheelId, clientSeed), refused for want of points (the ledger's field)
    # when the field is said the API's way
    path = api_path(["points"], "spin", {"wheelId", "clientSeed"})
    # then it is the input's, as the API has always named it
    assert path == ["input", "points"]


def test_the_exceptions_are_listed() -> None:
    # given the action's type, which trackAction's input calls `type`
    # when the domain names it
    path = api_path(["action_type"], "trackAction", {"input"})
    # then the API's path is the input's `type`; other operations keep the generic rule
    assert path == ["input", "type"]
    assert api_path(["action_type"], "createMission", {"input"}) == ["input", "actionType"]


def test_a_path_already_the_apis_comes_back_unchanged() -> None:
    # given paths gql's own checks build (an input field, a list item, a plain argument)
    built = [["input", "segmentId"], ["ids", "3"], ["ttlSeconds"]]
    # when they go through the mapping of their operations
    paths = [
        api_path(built[0], "createNotificationCampaign", {"input"}),
        api_path(built[1], "markNotificationsRead", {"ids"}),
        api_path(built[2], "issueMemberToken", {"memberExternalId", "ttlSeconds"}),
    ]
    # then they are what they were; no field, no path
    assert paths == built
    assert api_path(None, "recordOrder", {"input"}) is None


def test_domain_code_names_no_api_input_paths() -> None:
    # given every module of the domain packages
    sources = [p for package in DOMAIN for p in (ROOT / package).rglob("*.py")]
    # when their text is searched for an API input path
    naming = [str(p.relative_to(ROOT)) for p in sources if '"input.' in p.read_text()]
    # then none names one
    assert naming == []


async def test_a_domain_field_comes_back_as_the_api_names_it(api: Api) -> None:
    # given a refund of an order that was never recorded (the domain names order_id)
    query = """mutation {
      refundOrder(input: {orderId: "never", refundId: "r-1"}) { errors { code field } }
    }"""
    # when it is asked for
    data = await api.integration(query)
    # then the error names the input's orderId
    assert data["refundOrder"]["errors"] == [{"code": "NOT_FOUND", "field": ["input", "orderId"]}]
