"""Card codes: 12 digits with a Luhn check digit, random and unique; memberByCard at the till."""

from __future__ import annotations

import pytest

from core.settings import Settings
from members import cards
from tests import factories
from tests.conftest import ADMIN_KEY, INTEGRATION_KEY, Api
from tests.members.care_api import BY_CARD


def test_luhn_check_digit_matches_known_numbers() -> None:
    """Given the textbook Luhn example, 7992739871 -> 3, and the Visa test number 4111 1111
    1111 1111, when their check digits are computed, then they are the known ones."""
    assert cards.luhn_digit("7992739871") == "3"
    assert cards.luhn_digit("411111111111111") == "1"


def test_new_codes_are_valid_and_a_mistyped_digit_is_caught() -> None:
    # given the card code maker
    # when 2000 new codes are made
    codes = {cards.new_code() for _ in range(2000)}
    # then they are different: one repeat among 2000 draws of 9 x 10^10 codes happens once in
    # about 45,000 runs (it did, once, in CI); two would be one in a billion
    assert len(codes) >= 1999
    # and each is 12 digits with a valid check digit that catches a mistyped digit
    for code in list(codes)[:200]:
        assert len(code) == 12 and code.isdigit() and code[0] != "0" and cards.is_valid(code)
        wrong = code[:5] + str((int(code[5]) + 1) % 10) + code[6:]
        assert not cards.is_valid(wrong)
        swapped = code[:3] + code[4] + code[3] + code[5:]
        # Luhn catches every swap of neighbours but 0 <-> 9.
        if swapped != code and {code[3], code[4]} != {"0", "9"}:
            assert not cards.is_valid(swapped)


async def test_every_enrolled_member_gets_a_unique_code_unrelated_to_their_id() -> None:
    # given an empty program
    # when 30 members enrol
    members = [await factories.member() for _ in range(30)]
    codes = [m.card_code for m in members]
    # then each holds a valid code of its own
    assert all(c is not None and cards.is_valid(c) for c in codes)
    assert len(set(codes)) == 30
    # and consecutive members do not get consecutive (or otherwise ordered) codes
    numbers = [int(c or 0) for c in codes]
    assert numbers != sorted(numbers) and numbers != sorted(numbers, reverse=True)


async def test_staff_find_the_member_by_scanning_the_card(api: Api) -> None:
    # given a member with a card
    m = await factories.member(external_id="card-1", display_name="Lê Thu Hà")
    assert m.card_code is not None
    spaced = f"{m.card_code[:4]} {m.card_code[4:8]}-{m.card_code[8:]}"
    # when staff scan it, or type it with spaces and a dash
    for key in (ADMIN_KEY, INTEGRATION_KEY):
        for typed in (m.card_code, spaced):
            found = (await api(BY_CARD, {"c": typed}, token=key))["memberByCard"]
            # then they find the member
            assert found == {
                "externalId": "card-1",
                "displayName": "Lê Thu Hà",
                "cardCode": m.card_code,
            }


async def test_a_valid_code_nobody_holds_is_null(api: Api) -> None:
    # given a member, and a valid code nobody holds
    await factories.member()
    code = cards.new_code()
    # when an admin scans it
    # then nobody is found
    assert (await api.admin(BY_CARD, {"c": code}))["memberByCard"] is None


@pytest.mark.parametrize("typed", ["123", "12345678901a", "1234567890123"])
async def test_malformed_codes_are_invalid_input(api: Api, typed: str) -> None:
    # given a code that is not 12 digits
    # when it is scanned
    body = await api.raw(BY_CARD, {"c": typed}, token=ADMIN_KEY)
    # then it is INVALID_INPUT naming the card code
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert body["errors"][0]["extensions"]["field"] == ["cardCode"]


async def test_a_wrong_check_digit_is_invalid_input(api: Api) -> None:
    # given a member's code with a wrong check digit
    m = await factories.member()
    assert m.card_code is not None
    wrong = m.card_code[:-1] + str((int(m.card_code[-1]) + 1) % 10)
    # when it is scanned
    body = await api.raw(BY_CARD, {"c": wrong}, token=INTEGRATION_KEY)
    # then it is INVALID_INPUT, saying so, and nobody is found
    assert body["data"] == {"memberByCard": None}
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert "check digit" in body["errors"][0]["message"]


async def test_members_cannot_look_others_up_by_card(api: Api, settings: Settings) -> None:
    # given two members
    me = await factories.member()
    other = await factories.member()
    # when one looks the other up by card
    body = await api.raw(BY_CARD, {"c": other.card_code}, token=factories.token_for(me, settings))
    # then it is FORBIDDEN and nobody is found
    assert body["data"] == {"memberByCard": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # and they see their own card code, to show it as a QR code
    own = await api("{ me { cardCode } }", token=factories.token_for(me, settings))
    assert own["me"]["cardCode"] == me.card_code


async def test_the_member_search_finds_a_typed_card_number(api: Api) -> None:
    # given two members
    m = await factories.member(external_id="card-9")
    await factories.member()
    assert m.card_code is not None
    # when an admin searches for a card number typed with spaces
    typed = f"{m.card_code[:4]} {m.card_code[4:8]} {m.card_code[8:]}"
    found = await api.admin(
        "query($s: String) { members(search: $s) { edges { node { externalId } } } }",
        {"s": typed},
    )
    # then the card's member is found
    assert [e["node"]["externalId"] for e in found["members"]["edges"]] == ["card-9"]
