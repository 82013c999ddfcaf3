"""Spin wheels through the API: cost, free spins, daily limits, prizes and stock, and every
result re-checked against the seed hash shown before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from core import clock
from core.settings import Settings
from rewards import spin_fairness
from rewards.badges import service as badges
from rewards.spin_wheel import grant_free_spins
from rewards.spin_wheel.models import SpinResult, SpinState, SpinWheel
from rewards.vouchers.models import Voucher
from tests import factories
from tests.conftest import Api
from tests.rewards.checks import assert_books_balance, balance
from tests.rewards.factories import offer, segment, token_with, wheel

CREATE = """
mutation($input: SpinWheelInput!) {
  createSpinWheel(input: $input) {
    wheel { id name costPoints dailyLimit active
            segments { id label weight probability stockRemaining
                       prize { points spins badge { code } voucherOffer { id }
                               spinWheel { id } } } }
    errors { code field }
  }
}"""

WHEELS = """
{ spinWheels { id costPoints dailyLimit spinsLeftToday freeSpins nextSeedHash nextNonce
               segments { id label weight probability stockRemaining } } }"""

SPIN = """
mutation($id: ID!, $seed: String!) {
  spin(wheelId: $id, clientSeed: $seed) {
    result { id won pointsSpent usedFreeSpin serverSeed serverSeedHash clientSeed nonce
             createdAt voucherCode draw { segmentId weight }
             segment { id label probability } }
    member { pointsBalance }
    errors { code field }
  }
}"""

PRIZES = """
{ spinWheels { id segments { prize { points spins badge { code name }
                                     voucherOffer { id name } spinWheel { id } } } } }"""


async def wheel_view(api: Api, token: str, wheel_id: int) -> dict[str, Any]:
    wheels = (await api(WHEELS, token=token))["spinWheels"]
    return next(w for w in wheels if w["id"] == str(wheel_id))


def recheck(shown_hash: str, result: dict[str, Any]) -> None:
    """The documented derivation, from what the app saw: the hash before, the result after."""
    weights = [d["weight"] for d in result["draw"]]
    index = next(
        i for i, d in enumerate(result["draw"]) if d["segmentId"] == result["segment"]["id"]
    )
    verdict = spin_fairness.verify(
        server_seed=result["serverSeed"],
        client_seed=result["clientSeed"],
        nonce=result["nonce"],
        weights=weights,
        seed_hash_shown=shown_hash,
        claimed_index=index,
    )
    assert verdict.ok, verdict


async def spin_checked(api: Api, token: str, wheel_id: int, seed: str) -> dict[str, Any]:
    """Read nextSeedHash, spin, and re-check the result against that hash."""
    before = await wheel_view(api, token, wheel_id)
    payload = (await api(SPIN, {"id": str(wheel_id), "seed": seed}, token=token))["spin"]
    assert payload["errors"] == [], payload
    result = payload["result"]
    assert result["nonce"] == before["nextNonce"]
    recheck(before["nextSeedHash"], result)
    after = await wheel_view(api, token, wheel_id)
    assert after["nextSeedHash"] != before["nextSeedHash"]  # a fresh seed is committed
    return payload


async def test_admin_defines_a_wheel_and_members_see_odds(api: Api, settings: Settings) -> None:
    # given a wheel of three segments weighted 6, 3 and 1, the jackpot in stock twice
    wheel_input = {
        "name": "Lucky wheel",
        "costPoints": 10,
        "dailyLimit": 3,
        "segments": [
            {"label": "Try again", "weight": 6},
            {"label": "50 points", "weight": 3, "prize": {"points": 50}},
            {"label": "Jackpot", "weight": 1, "prize": {"points": 500}, "stock": 2},
        ],
    }
    # when an admin creates it
    created = (await api.admin(CREATE, {"input": wheel_input}))["createSpinWheel"]
    # then each segment's odds, stock and prize are shown
    assert created["errors"] == []
    assert [s["probability"] for s in created["wheel"]["segments"]] == [0.6, 0.3, 0.1]
    assert [s["stockRemaining"] for s in created["wheel"]["segments"]] == [None, None, 2]
    prizes = [s["prize"] for s in created["wheel"]["segments"]]
    assert prizes[0] is None
    assert prizes[2] == {
        "points": 500,
        "spins": None,
        "badge": None,
        "voucherOffer": None,
        "spinWheel": None,
    }
    # and a member sees their spins left, and the hash of their next seed
    _, token = await token_with(0, settings)
    view = (await api(WHEELS, token=token))["spinWheels"][0]
    assert view["spinsLeftToday"] == 3 and view["freeSpins"] == 0
    assert len(view["nextSeedHash"]) == 64 and view["nextNonce"] == 0
    # and staff see no member state
    staff = (await api.admin(WHEELS))["spinWheels"][0]
    assert staff["nextSeedHash"] is None and staff["spinsLeftToday"] is None


async def test_spin_charges_the_cost_and_reveals_a_seed_that_rechecks(
    api: Api, settings: Settings
) -> None:
    # given a wheel costing 10 and a member with 100 points
    w = await wheel([segment("Nothing", 5), segment("20 points", 5, points=20)], cost_points=10)
    member, token = await token_with(100, settings)
    # when they spin 5 times
    results = [await spin_checked(api, token, w.id, f"my-seed-{i}") for i in range(5)]
    # then each spin costs 10, prizes are credited with reason SPIN, and nonces count up
    wins = sum(1 for r in results if r["result"]["won"])
    assert [r["result"]["nonce"] for r in results] == [0, 1, 2, 3, 4]
    assert all(r["result"]["pointsSpent"] == 10 for r in results)
    assert await balance(member) == 100 - 50 + 20 * wins
    assert results[-1]["member"]["pointsBalance"] == 100 - 50 + 20 * wins
    assert {r["result"]["clientSeed"] for r in results} == {f"my-seed-{i}" for i in range(5)}
    await assert_books_balance()


async def test_jackpot_with_stock_3_is_won_at_most_3_times_then_reads_0(
    api: Api, settings: Settings
) -> None:
    # given a free wheel whose jackpot (half the weight) has stock 3
    w = await wheel([segment("Jackpot", 50, points=100, stock=3), segment("Nothing", 50)])
    players = [await token_with(0, settings) for _ in range(4)]
    # when 4 members spin 40 times in all
    results = []
    for i in range(40):
        _, token = players[i % 4]
        results.append((await spin_checked(api, token, w.id, f"s{i}"))["result"])
    # then the jackpot is won 3 times at most (at these odds: exactly 3, but for ~1e-9)
    jackpots = [r for r in results if r["segment"]["label"] == "Jackpot"]
    assert len(jackpots) == 3
    # and once gone, it reads probability 0 and is left out of every later draw
    view = await wheel_view(api, players[0][1], w.id)
    assert [(s["label"], s["probability"], s["stockRemaining"]) for s in view["segments"]] == [
        ("Jackpot", 0.0, 0),
        ("Nothing", 1.0, None),
    ]
    last_jackpot = results.index(jackpots[-1])
    assert all(len(r["draw"]) == 1 for r in results[last_jackpot + 1 :])
    assert sum([await balance(m) for m, _ in players]) == 300
    await assert_books_balance()


async def test_daily_limit_resets_on_the_next_local_day(api: Api, settings: Settings) -> None:
    # given a wheel with dailyLimit 2, at 23:00 in Ho Chi Minh City
    clock.freeze(datetime(2026, 11, 23, 16, 0, tzinfo=UTC))
    w = await wheel([segment("Nothing", 1)], daily_limit=2)
    member, token = await token_with(0, settings)
    # when the member spins 3 times
    await spin_checked(api, token, w.id, "a")
    await spin_checked(api, token, w.id, "b")
    third = (await api(SPIN, {"id": str(w.id), "seed": "c"}, token=token))["spin"]
    # then the third is LIMIT_REACHED and spends no nonce
    assert third["errors"] == [{"code": "LIMIT_REACHED", "field": ["wheelId"]}]
    view = await wheel_view(api, token, w.id)
    assert view["spinsLeftToday"] == 0 and view["nextNonce"] == 2
    # and two hours later (01:00 local, the next day) they may spin again
    clock.advance(timedelta(hours=2))
    token = factories.token_for(member, settings)
    assert (await wheel_view(api, token, w.id))["spinsLeftToday"] == 2
    await spin_checked(api, token, w.id, "d")


async def test_insufficient_points_writes_nothing(api: Api, settings: Settings) -> None:
    # given a wheel costing 10 and a member with 5 points
    w = await wheel([segment("10 points", 1, points=10)], cost_points=10)
    member, token = await token_with(5, settings)
    before = await wheel_view(api, token, w.id)
    # when they spin
    payload = (await api(SPIN, {"id": str(w.id), "seed": "x"}, token=token))["spin"]
    # then INSUFFICIENT_POINTS, and nothing changed: balance, seed, nonce, results
    assert [e["code"] for e in payload["errors"]] == ["INSUFFICIENT_POINTS"]
    assert await balance(member) == 5
    after = await wheel_view(api, token, w.id)
    assert (after["nextSeedHash"], after["nextNonce"]) == (before["nextSeedHash"], 0)
    assert await SpinResult.all().count() == 0


async def test_free_spins_are_used_before_points(api: Api, settings: Settings) -> None:
    # given a member with 2 free spins (a mission reward) on a wheel costing 10
    w = await wheel([segment("Nothing", 1)], cost_points=10)
    member, token = await token_with(100, settings)
    await grant_free_spins(member.id, w.id, 2)
    assert (await wheel_view(api, token, w.id))["freeSpins"] == 2
    # when they spin 3 times
    spins = [(await spin_checked(api, token, w.id, f"f{i}"))["result"] for i in range(3)]
    # then the first two are free and the third costs 10
    assert [(s["usedFreeSpin"], s["pointsSpent"]) for s in spins] == [
        (True, 0),
        (True, 0),
        (False, 10),
    ]
    assert await balance(member) == 90
    assert (await wheel_view(api, token, w.id))["freeSpins"] == 0


async def test_prizes_of_every_kind(api: Api, settings: Settings) -> None:
    # given single-segment wheels, so the prize is certain
    await badges.upsert(badges.BadgeData(code="lucky", name="Lucky"))
    o = await offer(points_cost=999, stock=1)
    voucher_wheel = await wheel([segment("Voucher", 1, voucher_offer_id=o.id)])
    spins_wheel = await wheel([segment("2 more", 1, spins=2)], cost_points=10)
    badge_wheel = await wheel([segment("Badge", 1, badge_code="lucky")])
    member, token = await token_with(10, settings)
    # when the member spins each
    voucher = (await spin_checked(api, token, voucher_wheel.id, "v"))["result"]
    extra = (await spin_checked(api, token, spins_wheel.id, "s"))["result"]
    badge = (await spin_checked(api, token, badge_wheel.id, "b"))["result"]
    # then the voucher is theirs for free, the free spins are held, the badge is awarded
    held = await Voucher.get(member_id=member.id)
    assert voucher["won"] and voucher["voucherCode"] == held.code and held.points_spent == 0
    assert extra["won"] and (await wheel_view(api, token, spins_wheel.id))["freeSpins"] == 2
    assert badge["won"] and [
        a.badge.code for a in (await badges.awards_of([member.id]))[member.id]
    ] == ["lucky"]
    # and the app sees each prize described
    prizes = {
        w["id"]: w["segments"][0]["prize"] for w in (await api(PRIZES, token=token))["spinWheels"]
    }
    assert prizes[str(voucher_wheel.id)]["voucherOffer"] == {"id": str(o.id), "name": o.name}
    assert prizes[str(spins_wheel.id)]["spinWheel"] == {"id": str(spins_wheel.id)}
    assert prizes[str(spins_wheel.id)]["spins"] == 2
    assert prizes[str(badge_wheel.id)]["badge"] == {"code": "lucky", "name": "Lucky"}
    # and the voucher offer now out of stock takes its segment out of the draw
    view = await wheel_view(api, token, voucher_wheel.id)
    assert view["segments"][0]["probability"] == 0.0
    gone = (await api(SPIN, {"id": str(voucher_wheel.id), "seed": "v2"}, token=token))["spin"]
    assert [e["code"] for e in gone["errors"]] == ["OUT_OF_STOCK"]


async def test_bad_wheel_input_names_the_field_and_writes_nothing(api: Api) -> None:
    def wheel_input(**change: Any) -> dict[str, Any]:
        return {"name": "W", "segments": [{"label": "Nothing", "weight": 1}]} | change

    def seg(**change: Any) -> list[dict[str, Any]]:
        return [{"label": "ok", "weight": 1}, {"label": "x", "weight": 1} | change]

    # given wheel inputs each wrong in one field
    cases: list[tuple[dict[str, Any], list[str]]] = [
        (wheel_input(name=" "), ["input", "name"]),
        (wheel_input(costPoints=-1), ["input", "costPoints"]),
        (wheel_input(dailyLimit=0), ["input", "dailyLimit"]),
        (wheel_input(segments=[]), ["input", "segments"]),
        (wheel_input(segments=seg(weight=0)), ["input", "segments", "1", "weight"]),
        (wheel_input(segments=seg(label="")), ["input", "segments", "1", "label"]),
        (wheel_input(segments=seg(stock=-1)), ["input", "segments", "1", "stock"]),
        (wheel_input(segments=seg(prize={})), ["input", "segments", "1", "prize"]),
        (
            wheel_input(segments=seg(prize={"points": 0})),
            ["input", "segments", "1", "prize", "points"],
        ),
        (
            wheel_input(segments=seg(prize={"voucherOfferId": "999"})),
            ["input", "segments", "1", "prize", "voucherOfferId"],
        ),
        (
            wheel_input(segments=seg(prize={"badgeCode": "nope"})),
            ["input", "segments", "1", "prize", "badgeCode"],
        ),
    ]
    # when an admin creates each
    for value, field in cases:
        # then each is refused naming that field, and nothing is written
        result = (await api.admin(CREATE, {"input": value}))["createSpinWheel"]
        assert result["wheel"] is None, field
        assert [e["field"] for e in result["errors"]] == [field]
    assert await SpinWheel.all().count() == 0


async def test_inactive_wheels_are_hidden_and_refuse_spins(api: Api, settings: Settings) -> None:
    # given an inactive wheel, and a member
    w = await wheel([segment("Nothing", 1)], active=False)
    _, token = await token_with(0, settings)
    # when the member lists the wheels and spins it
    # then it is hidden and refuses the spin, as unknown or malformed wheels do
    assert (await api(WHEELS, token=token))["spinWheels"] == []
    payload = (await api(SPIN, {"id": str(w.id), "seed": "x"}, token=token))["spin"]
    assert payload["errors"] == [{"code": "INACTIVE", "field": ["wheelId"]}]
    unknown = (await api(SPIN, {"id": "999999", "seed": "x"}, token=token))["spin"]
    assert unknown["errors"] == [{"code": "NOT_FOUND", "field": ["wheelId"]}]
    malformed = (await api(SPIN, {"id": "nope", "seed": "x"}, token=token))["spin"]
    assert malformed["errors"] == [{"code": "INVALID_INPUT", "field": ["wheelId"]}]
    assert await SpinState.filter(wheel_id=w.id).count() == 0
